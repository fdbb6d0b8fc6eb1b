"""`ganctl evaluate NAME --pairs DIR` (paired translation: L1, PSNR, SSIM, LPIPS against the
true outputs) and `ganctl evaluate NAME --source DIR --target DIR` (unpaired: FID/KID of the
translated sources against the target domain)."""

from __future__ import annotations

from pathlib import Path

from ganctl.cli.common import print_json


def _translator(plugin, weights: str | None, dev):
    from ganctl import weights as weights_mod
    from ganctl.console import info
    from ganctl.weights.provenance import line, record

    payload = weights_mod.for_translation(plugin, weights)
    info(line(payload, plugin))
    return plugin.translator(payload, dev), payload, record(payload, plugin)


def _pairs(root: Path, direction: str) -> list[tuple[str, object, object]]:
    """(name, input image, true output) from A/ and B/ matched by name, or A|B images."""
    from ganctl.data.images import list_images, open_image
    from ganctl.errors import UsageError

    if (root / "A").is_dir() and (root / "B").is_dir():
        b = {p.stem: p for p in list_images(root / "B")}
        out = [(p.stem, open_image(p), open_image(b[p.stem])) for p in list_images(root / "A")
               if p.stem in b]
        if not out:
            raise UsageError(f"--pairs {root}: no file names in A/ match one in B/")
    else:
        out = []
        for p in list_images(root):
            img = open_image(p)
            half = img.width // 2
            a, b = img.crop((0, 0, half, img.height)), img.crop((half, 0, 2 * half, img.height))
            out.append((str(p.relative_to(root)), a, b))
        if not out:
            raise UsageError(f"--pairs {root}: no images in it")
    return [(n, b, a) if direction == "BtoA" else (n, a, b) for n, a, b in out]


def evaluate_paired(plugin, root: Path, weights: str | None, lpips_net: str,
                    csv_out: Path | None, device: str, as_json: bool) -> None:
    from ganctl.console import info
    from ganctl.data.layouts import check_pairs
    from ganctl.device import resolve
    from ganctl.errors import GanctlError, UsageError
    from ganctl.metrics import lpips
    from ganctl.metrics.image import psnr, ssim
    from ganctl.tensors import from_pil

    if not root.is_dir():
        raise UsageError(f"--pairs {root}: no such folder")
    dev = resolve(device)
    try:
        model = None if lpips_net == "none" else lpips.load(lpips_net, dev)
    except GanctlError as e:
        raise GanctlError(f"{e}; or score without LPIPS: --lpips none") from None
    fn, payload, rec = _translator(plugin, weights, dev)
    direction = payload.preprocess.direction
    if not (root / "A").is_dir():
        from ganctl.data.images import list_images

        if warning := check_pairs(list_images(root), root):
            info(f"warning: {warning}")
    rows = []
    for name, inp, truth in _pairs(root, direction):
        out = fn([inp.convert("RGB")])[0].convert("RGB")
        if out.size != truth.size:
            raise GanctlError(f"{name}: output {out.size} and true image {truth.size} differ")
        x, y = from_pil([out]), from_pil([truth.convert("RGB")])
        ux, uy = (x + 1) / 2, (y + 1) / 2
        row = {"image": name, "l1": float((ux - uy).abs().mean()),
               "psnr": float(psnr(ux, uy)), "ssim": float(ssim(ux, uy))}
        if model is not None:
            row["lpips"] = float(lpips.distance(model, x, y)[0])
        rows.append(row)
    keys = [k for k in rows[0] if k != "image"]
    mean = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys}
    if csv_out:
        import csv

        with open(csv_out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["image", *keys])
            w.writerows([[r["image"], *(f"{r[k]:.4f}" for k in keys)] for r in rows])
    result = {"task": "translate", "plugin": plugin.name, "weights": rec,
              "direction": direction, "pairs": len(rows), "mean": mean,
              "protocol": "outputs at the input's size, 8-bit; L1 and PSNR/SSIM on [0, 1] "
                          "RGB" + (f"; LPIPS v0.1 {lpips_net}" if model is not None else ""),
              "per_image": rows}
    if as_json:
        print_json(result)
    else:
        print("  ".join(f"{k} {v}" for k, v in mean.items()) + f"  ({len(rows)} pairs, "
              f"{plugin.name} {direction})")


def evaluate_unpaired(plugin, source: Path, target: Path, spec: str, metrics: list[str],
                      weights: str | None, device: str, as_json: bool) -> None:
    from ganctl.data.images import list_images, open_image
    from ganctl.device import resolve
    from ganctl.errors import UsageError
    from ganctl.metrics import evaluate as ev
    from ganctl.tensors import from_pil

    for flag, folder in (("--source", source), ("--target", target)):
        if not folder.is_dir() or not list_images(folder):
            raise UsageError(f"{flag} {folder}: no images there")
    dev = resolve(device)
    ext = ev.extractor(spec, dev)
    fn, payload, rec = _translator(plugin, weights, dev)
    outs = [fn([open_image(p)])[0].convert("RGB") for p in list_images(source)]
    targets = [open_image(p) for p in list_images(target)]
    fake = ev_features(ext, outs, dev, from_pil)
    real = ev_features(ext, targets, dev, from_pil)
    scores = ev.score(metrics, ext, fake, real)
    result = {"task": "translate", "plugin": plugin.name, "weights": rec, **scores,
              "extractor": ext.name, "extractor_sha256": ext.sha256,
              "resize": ext.resize or ev.FID_RESIZE, "n_translated": len(outs),
              "n_target": len(targets), "source": str(source), "target": str(target)}
    if as_json:
        print_json(result)
    else:
        print("  ".join(f"{k} {v}" for k, v in scores.items()) + f"  ({ext.name}; "
              f"{len(outs)} translated vs {len(targets)} targets)")


def ev_features(ext, images, dev, from_pil):
    """Features of PIL images of any sizes, one at a time (the extractor resizes)."""
    import torch

    return torch.cat([ext(from_pil([im]), dev) for im in images])
