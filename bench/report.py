"""Print docs/performance.md's speed tables (Markdown) from the benches' JSON files.

    python bench/report.py                 # reads docs/bench/*.json
    python bench/report.py --dir results/  # e.g. what bench/gpu.sh wrote
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=HERE.parent / "docs" / "bench")
    args = ap.parse_args()
    for name, fn in (("vs-reference.json", vs_reference), ("fast-defaults.json", fast_defaults),
                     ("threads.json", threads), ("optim.json", optim),
                     ("inference.json", inference)):
        doc = load(args.dir, name)
        if doc:
            print(f"### {name}\n")
            fn(doc)


if __name__ == "__main__":
    main()
