"""What can be used by name: every plugin's stages and the weights each resolves to, and
the weights that ship or download (`ganctl models list`, `ganctl.list_models`)."""

from __future__ import annotations


def plugin_rows(pattern: str | None = None) -> list[dict]:
    """One row per plugin (a broken one as {"name", "error", "source"})."""
    from ganctl import registry, weights

    rows = []
    for name in registry.names(pattern):
        entry = registry.entries()[name]
        try:
            p = registry.get(name)
        except Exception as e:  # noqa: BLE001 - show a broken plugin, don't die on it
            rows.append({"name": name, "error": str(e), "source": entry.dist})
            continue
        rows.append({"name": name, "task": p.task, "summary": p.summary, "source": entry.dist,
                     "stages": [stage_row(p, s, weights) for s in p.stages],
                     "datasets": list(p.datasets)})
    return rows


def stage_row(p, stage: int, weights) -> dict:
    """One stage of `models list`: what it resolves to (`choice.default`, as every verb)."""
    found = weights.choice.default(p, stage)
    meta = {}
    if found.kind == "yours":
        meta = next((m for m in weights.cached(found.owner) if m.get("stage") == stage), {})
    text = found.text()
    if found.kind == "yours":
        run = meta.get("run")
        text = (f"yours: step {meta.get('step')} on "
                f"{(meta.get('dataset') or {}).get('name')}" + (f" ({run})" if run else ""))
        if found.owner != p.name:
            text += f", the {found.owner} run"
    ships = weights.choice.shipped(p, stage)
    sampled = None
    if stage == p.refine_stage and found.kind != "none":
        base = weights.choice.default(p, 1).kind
        sampled = weights.refines_by_default(p, base)
        if not sampled:
            text += "; `sample` stops before it after your generator (--stage 2 adds it)"
    return {"stage": stage, "title": p.stage_title(stage),
            "default_data": p.default_data.get(stage), "applied_by_sample": sampled,
            "uses": {"kind": found.kind, "name": found.name,
                     "path": str(found.path) if found.path else None},
            "uses_text": text,
            "shipped": {"kind": ships.kind, "name": ships.name} if ships else None,
            "weights": str(found.path) if found.kind == "yours" else None,
            "trained_steps": meta.get("step"),
            "trained_on": (meta.get("dataset") or {}).get("name")}


def available_rows(pattern: str | None = None) -> list[dict]:
    """Bundled and published weights: what each is, where it comes from, if it is here."""
    import fnmatch

    from ganctl.weights import bundled, published, reference, upscalers

    rows = [{"name": name, "kind": "bundled", "file": str(bundled.path(name)),
             "size_mb": round(bundled.path(name).stat().st_size / 1e6, 2), "here": True,
             "card": bundled.used_by(name)} for name in bundled.names()]
    rows += [{"name": r.name, "kind": "published", "file": r.filename, "url": r.url,
              "size_mb": r.size_mb, "sha256": r.sha256, "licence": r.licence,
              "paper": r.paper, "here": reference.pretrained_path(r).is_file(),
              "task": "translate"} for r in published.PUBLISHED.values()]
    rows += [{"name": r.name, "kind": "published", "file": r.filename, "url": r.url,
              "size_mb": r.size_mb, "sha256": r.sha256, "licence": r.licence,
              "paper": r.paper, "about": r.about, "scale": r.scale,
              "here": upscalers.path(r).is_file(), "task": "upscale",
              "use": f"ganctl upscale --model {r.name}"}
             for r in upscalers.UPSCALERS.values()]
    if pattern:
        rows = [r for r in rows if fnmatch.fnmatch(r["name"], pattern) or pattern in r["name"]]
    return rows
