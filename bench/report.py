"""Print docs/performance.md's speed tables (Markdown) from the benches' JSON files.

    python bench/report.py                 # reads docs/bench/*.json
    python bench/report.py --dir results/  # e.g. what bench/gpu.sh wrote

Tables in GENERATED are also kept in the docs between `<!-- report: NAME -->` and
`<!-- /report -->`; `python bench/report.py --write` rewrites them there, and
tests/test_docs.py fails when a committed one differs from what this prints.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(folder: Path, name: str) -> dict | None:
    path = folder / name
    return json.loads(path.read_text()) if path.is_file() else None


def rng(s: dict, digits: int = 1) -> str:
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}-{s['max']:,.{digits}f})"


def vs_reference(doc: dict) -> None:
    print(f"Measured {doc['date']} on {doc['device']} ({doc['machine']}), {doc['pairs']} "
          f"interleaved pairs; 2048^3 matmul: {doc['matmul_peak_gflop_per_s']['fp32']:,.0f} "
          f"GFLOP/s fp32, {doc['matmul_peak_gflop_per_s']['bf16']:,.0f} bf16.\n")
    print("| plugin stage | ganctl defaults | plain img/s | ganctl img/s | ratio (range) "
          "| GFLOP / step | plain GFLOP/s (share of peak) | ganctl GFLOP/s (share of peak) "
          "| channels-last flipped |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in doc["results"]:
        d = r["ganctl_defaults"]
        layout = "channels-last" if d["channels_last"] else "contiguous"
        defaults = f"{r['ganctl_precision']}, {layout}"
        if d["ema"]:
            defaults += f", EMA {d['ema']:g}"
        flip = r.get("ganctl_channels_last_flipped")
        flipped = (f"{'on' if flip['channels_last'] else 'off'}: "
                   f"{flip['vs_default']['median']:.2f}x" if flip else "-")
        print(f"| {r['case']} | {defaults} | {rng(r['plain_img_per_s'])} "
              f"| {rng(r['ganctl_img_per_s'])} | **{r['ratio']['median']:.2f}** "
              f"({r['ratio']['min']:.2f}-{r['ratio']['max']:.2f}) | {r['gflop_per_step']:.2f} "
              f"| {r['plain_gflop_per_s']:.0f} of {r['plain_peak_gflop_per_s']:.0f} "
              f"({r['plain_share_of_peak']:.0%}) | {r['ganctl_gflop_per_s']:.0f} of "
              f"{r['ganctl_peak_gflop_per_s']:.0f} ({r['ganctl_share_of_peak']:.0%}) "
              f"| {flipped} |")
    print()


CASES = {"stage1": ("sneakers", 1), "stage2": ("sneakers", 2),
         "stage2-photos": ("sneakers", 2), "leaks": ("leaks", 1), "faces": ("faces", 1),
         "pix2pix": ("pix2pix", 1), "cyclegan": ("cyclegan", 1)}


def shipped(name: str) -> str:
    """The precision this checkout's plugin defaults to."""
    from ganctl import config, registry

    plugin, stage = CASES[name]
    return config.build(registry.get(plugin).config_class(stage), {}).precision


def fast_defaults(doc: dict) -> None:
    print("| plugin stage | minutes | metric | seeds | auto: steps, precision | "
          "auto: metric | fp32: steps | fp32: metric | auto better in | default |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in doc["results"].items():
        metric = next(k for k in rows[0]["auto"]
                      if k not in ("steps", "precision", "channels_last"))
        lower = metric == "fd"
        better = sum((r["auto"][metric] < r["fp32"][metric]) == lower for r in rows)
        col = {side: ", ".join(f"{r[side][metric]:g}" for r in rows)
               for side in ("auto", "fp32")}

        label = f"{metric} (lower is better)" if lower else metric
        seeds = ", ".join(str(r["seed"]) for r in rows)
        print(f"| {name} | {rows[0]['minutes']:g} | {label} | {seeds} "
              f"| {statistics.median(r['auto']['steps'] for r in rows):,.0f}, "
              f"{rows[0]['auto']['precision']} | {col['auto']} "
              f"| {statistics.median(r['fp32']['steps'] for r in rows):,.0f} | {col['fp32']} "
              f"| {better} of {len(rows)} | {shipped(name)} |")
    print()


def threads(doc: dict) -> None:
    print(f"{doc['usable_cores']} usable cores, {doc['steps']} steps per run, "
          f"{doc['repeats']} rounds:\n")
    print("| arrangement | torch threads each | total img/s (range) | vs one alone |")
    print("|---|---|---|---|")
    for r in doc["results"]:
        print(f"| {r['arrangement']} | {r['threads_each']} | {rng(r['total_img_per_s'])} "
              f"| {r['total_vs_alone']:.2f} |")
    print()


def optim(doc: dict) -> None:
    print("| nets | parameters | tensors | for-loop (torch's CPU default) | foreach | fused |")
    print("|---|---|---|---|---|---|")
    for r in doc["results"]:
        print(f"| {r['case']} | {r['params'] / 1e6:.2f} M | {r['tensors']} "
              f"| {r['for-loop_ms']:.2f} ms | {r['foreach_ms']:.2f} ms "
              f"| **{r['fused_ms']:.2f} ms** |")
    print()


def inference(doc: dict) -> None:
    print("| folder | grouped images/s | one by one images/s | speed-up | grouped output MP/s |")
    print("|---|---|---|---|---|")
    for label, r in doc.get("folders", {}).items():
        print(f"| {label} | {rng(r['grouped_images_per_s'], 2)} "
              f"| {rng(r['one_by_one_images_per_s'], 2)} | **{r['speedup']:.2f}x** "
              f"| {r['grouped_output_megapixels_per_s']['median']:.3f} |")
    print()
    print("| command | wall | peak memory |")
    print("|---|---|---|")
    for label, r in doc.get("sample_memory", {}).items():
        print(f"| `sample sneakers` {label} into a folder | {r['wall_s']:.1f} s "
              f"| {r['peak_rss_mb']:,.0f} MB |")
    print()


def bundle(doc: dict) -> str:
    """README: what the bundled weights score on images they never trained on."""
    rows = ["| bundled weights | held-out images | bicubic | bundled |", "|---|---|---|---|"]
    for name in ("photo-x4", "sneakers-stage2"):
        tests = [(k, v) for k, v in doc[name]["scores"].items() if k.startswith("test: ")]
        for i, (images, score) in enumerate(tests):
            label = f"`{name}` ({doc[name]['bytes'] / 1e6:.2f} MB)" if i == 0 else ""
            rows.append(f"| {label} | {score['images']} {images.removeprefix('test: ')} "
                        f"| {score['bicubic']['psnr']:.2f} dB | **{score['ganctl']['psnr']:.2f}"
                        f" dB** ({score['gain_db']:+.2f}) |")
    s1 = doc["sneakers-stage1"]
    rows.append(f"| `sneakers-stage1` ({s1['bytes'] / 1e6:.2f} MB) | FD of "
                f"{s1['scores']['samples']:,} samples to the 1,000 Fashion-MNIST test "
                f"sneakers (1,000 real training sneakers: {s1['scores']['fd_floor_real_train']})"
                f" | | **{s1['scores']['fd']}** |")
    return "\n".join(rows)


def help_times(doc: dict) -> str:
    """performance.md: start-up of every help path."""
    rows = [f"{doc['repeats']} rounds, {doc['date']}, {doc['cpu']}, Python {doc['python']}:",
            "", "| command | median | range |", "|---|---|---|"]
    rows += [f"| `{k}` | {v['median_s'] * 1000:.0f} ms | {v['min_s'] * 1000:.0f}-"
             f"{v['max_s'] * 1000:.0f} ms |" for k, v in doc["rows"].items()]
    return "\n".join(rows)


def suite(doc: dict) -> str:
    """README: how long the tests take (bench/suite_time.py)."""
    full, fast = doc["full"], doc["fast"]
    return (f"On {doc['date']} ({doc['cpu']}, `python bench/suite_time.py`) the default suite "
            f"ran {full['passed']} tests in {full['wall_s'] / 60:.1f} minutes and the fast tier "
            f"{fast['passed']} in {fast['wall_s']:.0f} s.")


def pix2pix_real(doc: dict) -> str:
    """performance.md: pix2pix on real pairs, ganctl's defaults against the paper's loop."""
    rows = [f"{doc['date']}, {doc['cpu']}, torch {doc['torch']}, one thread per side, seeds "
            f"{', '.join(map(str, doc['seeds']))}; test split, median (min-max) over seeds. "
            "L1 on a 0-255 scale (lower is better), PSNR in dB and SSIM (higher is better).",
            "", "| set (train/val/test pairs) | CPU-minutes | side | steps | L1 | PSNR | SSIM |",
            "|---|---|---|---|---|---|---|"]
    for name, s in doc["sets"].items():
        sizes = "/".join(str(s["split_sizes"][k]) for k in ("train", "val", "test"))
        for m in s["test"]["ganctl"]:
            for side, label in (("reference", "paper's loop"), ("ganctl", "ganctl defaults")):
                c = s["test"][side][m]
                rows.append(f"| {name} ({sizes}) | {m} | {label} | {rng(c['steps'], 0)} "
                            f"| {rng(c['l1'])} | {rng(c['psnr'], 2)} | {rng(c['ssim'], 3)} |")
    shoes = doc["sets"].get("edges2shoes", {}).get("minutes_to_recognisable")
    if shoes:
        def say(found):
            return ", ".join("never" if m is None else f"{m:g}" for m in found)
        rows += ["", f"Minutes to a recognisable shoe (first budget with test L1 <= "
                 f"{doc['recognisable_l1']:g}), per seed: ganctl {say(shoes['ganctl'])}; "
                 f"the paper's loop {say(shoes['reference'])}."]
    return "\n".join(rows)


def fd_references(doc: dict) -> str:
    """metrics.md: what classifier-FD values on Fashion-MNIST sneakers mean."""
    refs, s1 = doc["references"], doc["stage1"]
    rows = [f"Measured {refs['measured']['date']} ({refs['measured']['cpu']}); the classifier's "
            f"test accuracy {s1['extractor']['test_accuracy']:.1%}.", "", "| what | FD |",
            "|---|---|"]
    items = list(refs["fd"].items())
    rows += [f"| {k} | {v:,.2f} |" for k, v in items[:1]]
    rows += [f"| ganctl's default after {r['budget_s'] / 60:g} CPU minute(s), one thread "
             f"(stage-1 bench, {s1['measured']['date']}) | {r['fd']:,.2f} |"
             for r in sorted(s1["rows"], key=lambda r: -r["budget_s"]) if r["side"] == "ganctl"]
    rows += [f"| {k} | {v:,.2f} |" for k, v in items[1:]]
    return "\n".join(rows)


# name -> (JSON file, function returning the Markdown kept in the docs)
GENERATED = {"bundle": ("bundle.json", bundle), "help": ("help.json", help_times),
             "suite": ("suite.json", suite), "pix2pix-real": ("pix2pix-real.json", pix2pix_real),
             "fd-references": ("quality.json", fd_references)}
MARK = "<!-- report: {} -->"
END = "<!-- /report -->"


def generated(name: str, folder: Path = HERE.parent / "docs" / "bench") -> str:
    file, fn = GENERATED[name]
    return fn(load(folder, file))


BLOCK = re.compile(r"<!-- report: ([\w-]+) -->\n(.*?)<!-- /report -->", re.S)


def blocks(text: str) -> list[tuple[str, str]]:
    """(name, committed Markdown) of every generated block in a document."""
    return [(m.group(1), m.group(2).strip()) for m in BLOCK.finditer(text)]


def rewrite(path: Path) -> None:
    path.write_text(BLOCK.sub(lambda m: f"{MARK.format(m.group(1))}\n"
                                        f"{generated(m.group(1))}\n{END}", path.read_text()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=HERE.parent / "docs" / "bench")
    ap.add_argument("--write", action="store_true",
                    help="rewrite the generated blocks of README.md and docs/ in place")
    args = ap.parse_args()
    if args.write:
        root = HERE.parent
        for path in [root / "README.md", *sorted((root / "docs").rglob("*.md"))]:
            if blocks(path.read_text()):
                rewrite(path)
                print(f"rewrote {path.relative_to(root)}")
        return
    for name, (file, _) in GENERATED.items():
        if load(args.dir, file):
            print(f"### {name}\n\n{generated(name, args.dir)}\n")
    for name, fn in (("vs-reference.json", vs_reference), ("fast-defaults.json", fast_defaults),
                     ("threads.json", threads), ("optim.json", optim),
                     ("inference.json", inference)):
        doc = load(args.dir, name)
        if doc:
            print(f"### {name}\n")
            fn(doc)


if __name__ == "__main__":
    main()
