"""Print docs/performance.md's speed tables (Markdown) from the benches' JSON files.

    python -m tools.report                 # reads docs/bench/*.json
    python -m tools.report --dir results/  # e.g. what bench/gpu.sh wrote

Tables in GENERATED are also kept in the docs between `<!-- report: NAME -->` and
`<!-- /report -->`; `python -m tools.report --write` rewrites them there, and
tests/test_docs.py fails when a committed one differs from what this prints.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

from bench.stats import spread

HERE = Path(__file__).resolve().parent


def load(folder: Path, name: str) -> dict | None:
    path = folder / name
    return json.loads(path.read_text()) if path.is_file() else None


def rng(s: dict, digits: int = 1) -> str:
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}-{s['max']:,.{digits}f})"


def adam_note(measured: dict) -> str:
    """Which Adam kernel the reference side ran (bench/plain.py): a handicap disclosed
    wherever it applied."""
    if measured.get("reference_adam") == "fused":
        return " Both sides step with torch's fused Adam."
    return (" The reference stepped with torch's default per-parameter Adam loop, ganctl "
            "with the fused kernel (the `optim` table gives both step costs); references "
            "use the fused one since 2026-12-07.")


def vs_reference(doc: dict) -> str:
    """performance.md: training speed against a plain PyTorch loop (bench/vs_reference.py)."""
    peak = doc["matmul_peak_gflop_per_s"]
    rows = [f"Measured {doc['date']} on {doc['device']}, {doc['cpu']} ({doc['machine']}), "
            f"{doc['pairs']} "
            f"interleaved pairs; 2048^3 matmul: {peak['fp32']:,.0f} GFLOP/s fp32, "
            f"{peak['bf16']:,.0f} bf16.", "",
            "| plugin stage | ganctl defaults | plain img/s | ganctl img/s | ratio (range) "
            "| GFLOP / step | plain GFLOP/s (share of peak) | ganctl GFLOP/s (share of peak) "
            "| channels-last flipped |", "|---|---|---|---|---|---|---|---|---|"]
    for r in doc["results"]:
        d = r["ganctl_defaults"]
        layout = "channels-last" if d["channels_last"] else "contiguous"
        defaults = f"{r['ganctl_precision']}, {layout}"
        if d["ema"]:
            defaults += f", EMA {d['ema']:g}"
        flip = r.get("ganctl_channels_last_flipped")
        flipped = (f"{'on' if flip['channels_last'] else 'off'}: "
                   f"{flip['vs_default']['median']:.2f}x" if flip else "-")
        rows.append(f"| {r['case']} | {defaults} | {rng(r['plain_img_per_s'])} "
                    f"| {rng(r['ganctl_img_per_s'])} | **{r['ratio']['median']:.2f}** "
                    f"({r['ratio']['min']:.2f}-{r['ratio']['max']:.2f}) "
                    f"| {r['gflop_per_step']:.2f} | {r['plain_gflop_per_s']:.0f} of "
                    f"{r['plain_peak_gflop_per_s']:.0f} ({r['plain_share_of_peak']:.0%}) "
                    f"| {r['ganctl_gflop_per_s']:.0f} of {r['ganctl_peak_gflop_per_s']:.0f} "
                    f"({r['ganctl_share_of_peak']:.0%}) | {flipped} |")
    return "\n".join(rows)


CASES = {"stage1": ("sneakers", 1), "stage2": ("sneakers", 2),
         "stage2-photos": ("sneakers", 2), "leaks": ("leaks", 1), "faces": ("faces", 1),
         "pix2pix": ("pix2pix", 1), "cyclegan": ("cyclegan", 1)}


def shipped(name: str) -> str:
    """The precision this checkout's plugin defaults to."""
    from ganctl import config, registry

    plugin, stage = CASES[name]
    return config.build(registry.get(plugin).config_class(stage), {}).precision


def fast_defaults(doc: dict) -> str:
    """decisions.md: bf16 against fp32 at equal minutes (bench/fast_defaults.py)."""
    rows = ["| plugin stage | minutes | metric | seeds | auto: steps, precision | "
            "auto: metric | fp32: steps | fp32: metric | auto better in | default |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, runs in doc["results"].items():
        metric = next(k for k in runs[0]["auto"]
                      if k not in ("steps", "precision", "channels_last"))
        lower = metric == "fd"
        better = sum((r["auto"][metric] < r["fp32"][metric]) == lower for r in runs)
        col = {side: ", ".join(f"{r[side][metric]:g}" for r in runs)
               for side in ("auto", "fp32")}
        label = f"{metric} (lower is better)" if lower else metric
        seeds = ", ".join(str(r["seed"]) for r in runs)
        rows.append(f"| {name} | {runs[0]['minutes']:g} | {label} | {seeds} "
                    f"| {statistics.median(r['auto']['steps'] for r in runs):,.0f}, "
                    f"{runs[0]['auto']['precision']} | {col['auto']} "
                    f"| {statistics.median(r['fp32']['steps'] for r in runs):,.0f} "
                    f"| {col['fp32']} | {better} of {len(runs)} | {shipped(name)} |")
    return "\n".join(rows)


def threads(doc: dict) -> str:
    """decisions.md: two runs on one machine (the retired bench/threads.py)."""
    rows = [f"{doc['usable_cores']} usable cores, {doc['steps']} steps per run, "
            f"{doc['repeats']} rounds:", "",
            "| arrangement | torch threads each | total img/s (range) | vs one alone |",
            "|---|---|---|---|"]
    rows += [f"| {r['arrangement']} | {r['threads_each']} | {rng(r['total_img_per_s'])} "
             f"| {r['total_vs_alone']:.2f} |" for r in doc["results"]]
    return "\n".join(rows)


def optim(doc: dict) -> str:
    """decisions.md: one Adam step three ways (the retired bench/optim.py)."""
    rows = ["| nets | parameters | tensors | for-loop (torch's CPU default) | foreach | fused |",
            "|---|---|---|---|---|---|"]
    rows += [f"| {r['case']} | {r['params'] / 1e6:.2f} M | {r['tensors']} "
             f"| {r['for-loop_ms']:.2f} ms | {r['foreach_ms']:.2f} ms "
             f"| **{r['fused_ms']:.2f} ms** |" for r in doc["results"]]
    return "\n".join(rows)


def grouping(doc: dict) -> str:
    """performance.md: folders grouped against one by one (bench/inference.py)."""
    rows = ["| folder | grouped images/s | one by one images/s | speed-up | grouped output MP/s |",
            "|---|---|---|---|---|"]
    rows += [f"| {label} | {rng(r['grouped_images_per_s'], 2)} "
             f"| {rng(r['one_by_one_images_per_s'], 2)} | **{r['speedup']:.2f}x** "
             f"| {r['grouped_output_megapixels_per_s']['median']:.3f} |"
             for label, r in doc.get("folders", {}).items()]
    return "\n".join(rows)


def sample_memory(doc: dict) -> str:
    """performance.md: `sample` into a folder, wall time and peak memory (bench/inference.py)."""
    rows = ["| command | wall | peak memory |", "|---|---|---|"]
    rows += [f"| `sample sneakers` {label} into a folder | {r['wall_s']:.1f} s "
             f"| {r['peak_rss_mb']:,.0f} MB |" for label, r in doc.get("sample_memory", {}).items()]
    return "\n".join(rows)


def stage1(doc: dict) -> str:
    """performance.md: sneakers stage 1 against the plain DCGAN (bench/quality.py)."""
    s1 = doc["stage1"]
    floor, m = s1["floor"], s1["measured"]
    split = "val split (the last 1,000 training sneakers, held out)" if doc.get(
        "split") == "val" else "test split"
    rows = [f"Measured {m['date']} on {m['cpu']}, one torch thread per side, seed 0, {split}. "
            f"Real-vs-real floor: FD {floor['fd']:.2f}, KID {floor['kid']:.2f}; the classifier's "
            f"test accuracy {s1['extractor']['test_accuracy']:.1%}." + adam_note(m), "",
            "| budget | ganctl steps | plain steps | ganctl img/s | plain img/s | ganctl FD "
            "| plain FD | FD ratio (goal <= 0.25) | ganctl KID | plain KID |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["budget_s"], r["side"]): r for r in s1["rows"]}
    for summary in s1["summary"]:
        b = summary["budget_s"]
        ours, plain = by[b, "ganctl"], by[b, "reference"]
        rows.append(f"| {b / 60:g} min | {ours['steps']} | {plain['steps']} "
                    f"| {ours['img_per_s']:.0f} | {plain['img_per_s']:.0f} "
                    f"| **{ours['fd']:.2f}** | {plain['fd']:.2f} | {summary['fd_ratio']:.3f} "
                    f"| {ours['kid']:.2f} | {plain['kid']:.2f} |")
    return "\n".join(rows)


def sr_rows(rows: dict) -> list[str]:
    """One super-resolution table: PSNR against bicubic's, SSIM, sharpness, steps."""
    base = rows["bicubic"]["psnr"]
    best_gain = max(r["psnr"] for r in rows.values())
    sharpest = max(r["sharpness"] for r in rows.values())
    out = ["| model | steps | PSNR | vs bicubic | SSIM | sharpness |", "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        gain = f"{r['psnr'] - base:+.2f} dB"
        sharp = f"{r['sharpness']:.3f}"
        out.append(f"| {name} | {r['steps']:,} | {r['psnr']:.2f} "
                   f"| {f'**{gain}**' if r['psnr'] == best_gain else gain} | {r['ssim']:.4f} "
                   f"| {f'**{sharp}**' if r['sharpness'] == sharpest else sharp} |")
    return out


def stage2(doc: dict) -> str:
    """performance.md: stage-2 super-resolution against the plain CNN (bench/quality.py)."""
    s2 = doc["stage2"]
    titles = {"photos": "Photographs (scikit-image samples: 100 training patches of 112 px "
                        "from 11 photos; test: {n} patches of 3 other photos, x4 from 28 px):",
              "fashion": "Fashion-MNIST sneakers 7 -> 28 px (training: the 6,000 training "
                         "sneakers; test: the first {n} test sneakers):"}
    if doc.get("split") == "val":
        titles = {"photos": "Photographs (scikit-image samples: 100 training patches of 112 px "
                            "from 9 training photos; val: {n} patches of the other 2, x4 from "
                            "28 px):",
                  "fashion": "Fashion-MNIST sneakers 7 -> 28 px (training: the first 5,000 "
                             "training sneakers; val: {n} of the other 1,000):"}
    out = [f"Measured {s2['measured']['date']} on {s2['measured']['cpu']}, one torch thread "
           f"per side." + adam_note(s2["measured"]), ""]
    for name, title in titles.items():
        out += [title.format(n=s2[name]["test_images"]), "", *sr_rows(s2[name]["rows"]), ""]
    return "\n".join(out[:-1])


def sr_augment(doc: dict) -> str:
    """decisions.md: flips against all eight symmetries (the retired bench/sr_augment.py)."""
    rows = ["| set | bicubic | augment=flip | augment=dihedral |", "|---|---|---|---|"]
    for name, label in (("photos", "photographs"), ("fashion", "Fashion-MNIST sneakers")):
        r = doc["sets"][name]["rows"]
        base, best = r["bicubic"]["psnr"], max(r[k]["psnr"] for k in r)
        cells = []
        for k in ("augment=flip", "augment=dihedral"):
            text = f"{r[k]['psnr']:.2f} dB ({r[k]['psnr'] - base:+.2f})"
            cells.append(f"{f'**{text}**' if r[k]['psnr'] == best else text}, "
                         f"{r[k]['steps']:,} steps")
        rows.append(f"| {label} | {base:.2f} dB | {' | '.join(cells)} |")
    return "\n".join(rows)


def leaks_fashion(doc: dict) -> str:
    """leaks.md: every Fashion-MNIST class as a leak (bench/leaks_fashion.py)."""
    rows = [f"Measured {doc['date']} on {doc['cpu']} ({doc['machine']}), {doc['split']} split, "
            f"{doc['minutes']:g} minutes of training, seeds {', '.join(map(str, doc['seeds']))}"
            f"; median (range).", "",
            "| score | steps | ROC AUC (all) | PR AUC | sandal | ankle boot | other classes "
            "| leak recall | leak precision | accuracy | threshold rule |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in doc["scores"].items():
        m, per = r["summary"], r["summary"]["roc_auc_per_class"]
        rest = [v["median"] for k, v in per.items() if k not in ("sandal", "ankle boot")]
        rules = sorted({run["threshold_rule"].split()[0] for run in r["runs"]})
        rows.append(f"| {name} | {m['steps']['median']:,.0f} | {rng(m['roc_auc_all'], 3)} "
                    f"| {rng(m['pr_auc_all'], 3)} | {rng(per['sandal'], 3)} "
                    f"| {rng(per['ankle boot'], 3)} | {min(rest):.3f}-{max(rest):.3f} "
                    f"| {rng(m['leak_recall'], 3)} | {rng(m['leak_precision'], 3)} "
                    f"| {rng(m['accuracy'], 3)} | {', '.join(rules)} |")
    return "\n".join(rows)


def leaks_lookalike(doc: dict) -> str:
    """leaks.md and performance.md: leaks that look like the normal images
    (bench/leaks_fashion.py --layout lookalike), each setting trained seed by seed."""
    rows = [f"Measured {doc['date']} on {doc['cpu']} ({doc['machine']}), {doc['split']} split, "
            f"{doc['minutes']:g} minutes of training, seeds {', '.join(map(str, doc['seeds']))}"
            "; median (range). Goal: ROC AUC >= 0.98, leak recall >= 0.9 at precision >= 0.9.",
            "", "| setting | steps | ROC AUC | sandal | ankle boot | leak recall "
            "| leak precision | accuracy |", "|---|---|---|---|---|---|---|---|"]
    for i, (name, r) in enumerate(doc["scores"].items()):
        m, per = r["summary"], r["summary"]["roc_auc_per_class"]
        label = f"{name} (default)" if i == 0 else name
        rows.append(f"| {label} | {m['steps']['median']:,.0f} | {rng(m['roc_auc_all'], 3)} "
                    f"| {rng(per['sandal'], 3)} | {rng(per['ankle boot'], 3)} "
                    f"| {rng(m['leak_recall'], 3)} | {rng(m['leak_precision'], 3)} "
                    f"| {rng(m['accuracy'], 3)} |")
    return "\n".join(rows)


def leaks_rules(doc: dict) -> str:
    """leaks.md: where each threshold rule lands (bench/leaks_fashion.py --split val)."""
    runs = doc["scores"]["feature"]["runs"]
    rows = [f"Measured {doc['date']} on {doc['cpu']}, {doc['split']} split, "
            f"{doc['minutes']:g} minutes, seeds {', '.join(map(str, doc['seeds']))}; median "
            "(range).", "", "| rule, on the run's held-out normals and proliv/ | leak recall "
            "| leak precision | normal images flagged |", "|---|---|---|---|"]
    for rule in runs[0]["rules"]:
        cells = [rng(spread([r["rules"][rule][k] for r in runs]), 3)
                 for k in ("recall", "precision", "fpr")]
        rows.append(f"| {rule} | {' | '.join(cells)} |")
    return "\n".join(rows)


def decode(doc: dict) -> str:
    """decisions.md: torchvision.io against PIL per item (the retired bench/decode.py)."""
    rows = ["| item | torchvision.io | PIL | speed-up |", "|---|---|---|---|"]
    rows += [f"| {r['case']} | {r['torchvision_ms']:.2f} ms | {r['pil_ms']:.2f} ms "
             f"| {r['speedup']:.1f}x |" for r in doc["results"]]
    return "\n".join(rows)


def train_speed(doc: dict) -> str:
    """performance.md: compute-only step times (bench/train_speed.py)."""
    rows = ["| case | precision, memory | s / step | images / s |", "|---|---|---|---|"]
    for r in doc["results"]:
        layout = "channels-last" if r["channels_last"] else "contiguous"
        rows.append(f"| {r['case']} ({r['generator_params'] / 1e6:.1f} M params) "
                    f"| {r['precision']}, {layout} | {r['seconds_per_step']:.2f} "
                    f"| {r['images_per_s']:.2f} |")
    return "\n".join(rows)


def verbs(doc: dict) -> str:
    """performance.md: each inference verb in process and as a command (bench/inference.py)."""
    s, up, tr = doc["sample"], doc["upscale"], doc["translate"]

    def cli(r):
        return f"{r['wall_s']:.1f} s | {r['peak_rss_mb']:,.0f} MB"
    rows = ["| verb | in-process | whole command | peak memory (command) |", "|---|---|---|---|",
            f"| `sample sneakers --stage 1 -n {s['n']}` (DCGAN, 28 px) "
            f"| {s['stage1_images_per_s']:,.0f} images/s | {cli(s['cli_stage1'])} |",
            f"| `sample sneakers -n 100` (DCGAN + the compact x4 net, 112 px) "
            f"| {s['stage1+2_images_per_s']:,.0f} images/s | {cli(s['cli_stage1+2_100'])} |",
            f"| `upscale` {up['input']} -> {up['output']} (the compact default net, `--tile "
            f"{up['tile']}`) | {up['seconds']:.2f} s: {up['input_mp_per_s']:.3f} MP/s in, "
            f"{up['output_mp_per_s']:.2f} MP/s out | {cli(up['cli'])} |",
            f"| `translate edges2shoes` 256x256 (unet_256) "
            f"| {tr['edges2shoes']['latency_ms']:.0f} ms | {cli(tr['edges2shoes']['cli'])} |",
            f"| `translate horse2zebra` 256x256 (ResNet-9) "
            f"| {tr['horse2zebra']['latency_ms']:.0f} ms | {cli(tr['horse2zebra']['cli'])} |"]
    return "\n".join(rows)


def bundle(doc: dict) -> str:
    """README: what the bundled weights score on images they never trained on."""
    rows = ["| bundled weights | held-out images | bicubic | bundled |", "|---|---|---|---|"]
    for name in ("sneakers-stage2",):
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
    if "fashion-classifier" in doc:  # the feature space of `evaluate` and the FD above
        c = doc["fashion-classifier"]
        rows.append(f"| `fashion-classifier` ({c['bytes'] / 1e6:.2f} MB) | accuracy on the "
                    f"{c['scores']['test_images']:,} Fashion-MNIST test images | | "
                    f"**{c['scores']['test_accuracy']:.3f}** |")
    return "\n".join(rows)


def upscaler_table(doc: dict) -> list[str]:
    """PSNR-Y (gain over bicubic) and SSIM-Y per set: bicubic, the previous file, photo-x4."""
    rows = ["| images | bicubic | previous photo-x4 | photo-x4 |", "|---|---|---|---|"]
    for name, s in doc["scores"].items():
        cells = [f"{s['bicubic']['psnr_y']:.2f} dB, {s['bicubic']['ssim_y']:.3f}"]
        for k in ("previous", "photo-x4"):
            cells.append(f"{s[k]['psnr_y']:.2f} dB ({s[k]['gain_db']:+.2f}), "
                         f"{s[k]['ssim_y']:.3f}")
        cells[-1] = f"**{cells[-1]}**"
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def upscaler(doc: dict) -> str:
    """README: the bundled photo-x4 against bicubic and the file it replaced (bench/upscaler.py)."""
    sp = doc["speed"]["photo-x4"]
    papers = "; ".join(f"{k} +{a:.1f} / +{b:.1f} dB"
                       for k, (a, b) in doc["papers_set5_set14_gain_db"].items())
    return "\n".join([
        f"PSNR-Y (gain over bicubic), SSIM-Y; {doc['date']}, `python -m bench.upscaler bundle`:",
        "", *upscaler_table(doc), "",
        f"`photo-x4` is {doc['bytes'] / 1e6:.2f} MB (the previous file "
        f"{doc['previous_bytes'] / 1e6:.2f} MB) and takes {sp['seconds_median']:.1f} s for "
        f"512x512 -> 2048x2048 on {sp['threads']} threads of this {doc['cpu']}. For "
        f"orientation only, the gains published nets report on other images (Set5 / Set14, "
        f"from their papers): {papers}."])


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
    failed = f" ({full['failed']} failed)" if full.get("failed") else ""
    return (f"On {doc['date']} ({doc['cpu']}, `python -m bench.suite_time`) the default suite "
            f"ran {full['passed']} tests{failed} in {full['wall_s'] / 60:.1f} minutes and the "
            f"fast tier {fast['passed']} in {fast['wall_s']:.0f} s.")


def pix2pix_real(doc: dict) -> str:
    """performance.md: pix2pix on real pairs, ganctl's defaults against the paper's loop."""
    rows = [f"{doc['date']}, {doc['cpu']}, torch {doc['torch']}, one thread per side, seeds "
            f"{', '.join(map(str, doc['seeds']))}; test split, median (min-max) over seeds. "
            "L1 on a 0-255 scale (lower is better), PSNR in dB and SSIM (higher is better)."
            + adam_note(doc), "",
            "| set (train/val/test pairs) | CPU-minutes | side | steps | L1 | PSNR | SSIM |",
            "|---|---|---|---|---|---|---|"]
    dates = {name: s.get("date", doc["date"]) for name, s in doc["sets"].items()}
    if len(set(dates.values())) > 1:
        rows[0] += " Measured: " + ", ".join(f"{k} {v}" for k, v in dates.items()) + "."
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
        rows += ["", f"Minutes to the paper loop's final L1 (the first budget with test L1 "
                 f"<= {doc['recognisable_l1']:g}, the paper loop's median after its longest "
                 f"budget: a rule, not a number read off pictures), per seed: ganctl "
                 f"{say(shoes['ganctl'])}; the paper's loop {say(shoes['reference'])}."]
    return "\n".join(rows)


def cyclegan_real(doc: dict) -> str:
    """performance.md: CycleGAN on real horse2zebra photographs (bench/cyclegan_real.py)."""
    acc = doc["domain_classifier_test_accuracy"]
    rows = [f"{doc['date']}, {doc['cpu']}, torch {doc['torch']}, one thread per side, "
            f"{doc['size']}-px training crops, seeds {', '.join(map(str, doc['seeds']))}; test "
            "split, median (min-max) over seeds. Share: translated test images the domain "
            "classifier calls the target domain (test accuracy on real images "
            f"{acc['plain']:.3f}, blurred {acc['blurred']:.3f}, grey {acc['grey']:.3f}); FD and "
            "KID against the real target test images in its features (lower is better); "
            "cycle PSNR of A -> B -> A against A (higher is better)." + adam_note(doc)]
    art = "real_checkerboard" in doc  # the artefact scores, since 2026-12-07
    if art:
        real = doc["real_checkerboard"]["test"]
        rows[0] += (" Checkerboard: a pattern tied to the pixel grid, in grey levels "
                    f"(bench/artefacts.py; real test horses {real['A']:.2f}, zebras "
                    f"{real['B']:.2f}); background: the median pixel's change from the input "
                    "and its colour cast, in grey levels (the animal covers less than half of "
                    "most pictures; lower is better for all three).")
    cols = ["share as target", "FD", "KID", "cycle PSNR"] + (
        ["checkerboard", "background change", "colour cast"] if art else [])
    rows += ["", "| CPU-minutes | side | steps | direction | " + " | ".join(cols) + " |",
             "|---|---|---|---|" + "---|" * len(cols)]
    for m in doc["test"]["ganctl"]:
        for side, label in (("reference", "paper's loop"), ("ganctl", "ganctl defaults")):
            c = doc["test"][side][m]
            for way, arrow in (("AtoB", "horse -> zebra"), ("BtoA", "zebra -> horse")):
                cells = [rng(c[f"{way} target_share"], 2), rng(c[f"{way} fd"]),
                         rng(c[f"{way} kid"], 2), rng(c[f"{way} cycle_psnr"], 2)]
                if art:
                    cells += [rng(c[f"{way} {k}"], d) for k, d in (
                        ("checkerboard", 2), ("background_change", 1), ("colour_cast", 1))]
                rows.append(f"| {m} | {label} | {rng(c['steps'], 0)} | {arrow} | "
                            + " | ".join(cells) + " |")
    return "\n".join(rows)


def faces_real(doc: dict) -> str:
    """performance.md: faces on real CelebA photographs (bench/faces_real.py)."""
    floor = doc["floor"]["test"]
    sizes = doc["split_sizes"]
    rows = [f"{doc['date']}, {doc['cpu']}, torch {doc['torch']}, one thread per side, seeds "
            f"{', '.join(map(str, doc['seeds']))}; {doc['samples']} samples against the "
            f"{sizes['test']} test faces, median (min-max) over seeds. FD and KID in the "
            "rotation net's features (its test accuracy "
            f"{doc['rotation_net_test_accuracy']:.3f}; lower is better); two-sample: the "
            "held-out accuracy of a classifier telling samples from real test faces (0.5 is "
            f"best). The {sizes['train']} training faces against the test faces score FD "
            f"{floor['fd']:.1f}, KID {floor['kid']:.2f}, two-sample "
            f"{floor['two_sample_acc']:.2f}." + adam_note(doc), "",
            "| CPU-minutes | side | steps | FD | KID | two-sample accuracy |",
            "|---|---|---|---|---|---|"]
    for m in doc["test"]["ganctl"]:
        for side, label in (("reference", "the seed's DCGAN"), ("ganctl", "ganctl defaults")):
            c = doc["test"][side][m]
            rows.append(f"| {m} | {label} | {rng(c['steps'], 0)} | {rng(c['fd'])} "
                        f"| {rng(c['kid'], 2)} | {rng(c['two_sample_acc'], 2)} |")
    return "\n".join(rows)


def tuning(doc: dict, cols: list[tuple[str, str, int]]) -> str:
    """performance.md: a ganctl-against-ganctl tuning run of a real-photo bench
    (`--against`), on the val split, one row per seed, budget and side; `cols` are
    (key, heading, decimals)."""
    def value(cell: dict, key: str) -> float:
        for part in key.split("."):
            cell = cell[part]
        return cell

    sets = " ".join(doc["ganctl_set"]) or "the defaults of that date"
    rows = [f"{doc['date']}, {doc['cpu']}, torch {doc['torch']}, one thread per side, val "
            f"split. ganctl: {sets}; variant: {' '.join(doc['against'])}.", "",
            "| CPU-minutes | seed | side | steps | " + " | ".join(c[1] for c in cols) + " |",
            "|---|---|---|---|" + "---|" * len(cols)]
    for seed, run in doc["runs"].items():
        for m in run["ganctl"]:
            for side in ("ganctl", "variant"):
                c = run[side][m]
                rows.append(f"| {m} | {seed} | {side} | {c['steps']:,} | " + " | ".join(
                    f"{value(c['val'], k):.{digits}f}" for k, _, digits in cols) + " |")
    return "\n".join(rows)


FACES_TUNE = [("fd", "FD", 2), ("kid", "KID", 2)]
CYCLEGAN_TUNE = [("AtoB.target_share", "horse -> zebra share", 2),
                 ("AtoB.fd", "horse -> zebra FD", 2),
                 ("BtoA.target_share", "zebra -> horse share", 2),
                 ("BtoA.fd", "zebra -> horse FD", 2)]


def both_ways(*scores: tuple[str, str]) -> list[tuple[str, str, int]]:
    """Tuning columns of the artefact scores (key, heading), each direction in turn."""
    return [(f"{way}.{key}", f"{arrow} {name}", 1)
            for way, arrow in (("AtoB", "h->z"), ("BtoA", "z->h")) for key, name in scores]


CYCLEGAN_TUNE_ARTEFACTS = CYCLEGAN_TUNE + both_ways(("checkerboard", "checkerboard"),
                                                    ("colour_cast", "cast"))
CYCLEGAN_TUNE_BACKGROUND = CYCLEGAN_TUNE + both_ways(("background_change", "background change"),
                                                     ("colour_cast", "cast"))
PIX2PIX_TUNE = [("l1", "L1", 2), ("psnr", "PSNR", 2), ("ssim", "SSIM", 3)]


def facades_tuning(doc: dict) -> str:
    return tuning({**doc, "runs": doc["sets"]["facades"]["runs"]}, PIX2PIX_TUNE)


def video(doc: dict) -> str:
    """performance.md: translate/upscale on a clip against its frames as PNGs (bench/video.py)."""
    rows = [f"{doc['date']}, {doc['cpu']}, torch {doc['torch']}, {doc['repeats']} interleaved "
            "rounds of fresh commands; median (min-max).", "",
            "| command | frames | on the clip (frames/s) | on a folder of the same frames as "
            "PNGs (frames/s) | clip / PNGs |", "|---|---|---|---|---|"]
    for name, r in doc.items():
        if isinstance(r, dict) and "clip_frames_per_s" in r:
            rows.append(f"| {name} | {r['frames']} | {rng(r['clip_frames_per_s'], 2)} "
                        f"| {rng(r['png_folder_frames_per_s'], 2)} | {r['ratio']:.2f}x |")
    mem = ", ".join(f"{k}: {v:,.0f} MB" for k, v in doc["upscale_peak_rss_mb"].items())
    rows += ["", f"Peak memory of `ganctl upscale` on a clip and on one ten times longer: {mem}."]
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
def upscale_range(doc: dict) -> str:
    """sneakers.md: the upscaler's local-range clamp, by margin, on one split."""
    rows = [f"{doc['images']} photos of the {doc['split']} split, x4 from a quarter of their "
            "size; PSNR median (mean), RGB, border 4 shaved:", "",
            "| input | margin | PSNR | speckles |", "|---|---|---|---|"]
    for key, r in doc["rows"].items():
        kind, _, margin = key.partition(" margin ")
        rows.append(f"| {kind.upper()} | {margin} | {r['psnr_median']:.2f} dB "
                    f"({r['psnr_mean']:.2f}) | {r['speckles']} |")
    return "\n".join(rows)


GENERATED = {"bundle": ("bundle.json", bundle), "upscaler": ("upscaler.json", upscaler),
             "help": ("help.json", help_times),
             "suite": ("suite.json", suite), "pix2pix-real": ("pix2pix-real.json", pix2pix_real),
             "fd-references": ("quality.json", fd_references),
             "vs-reference": ("vs-reference.json", vs_reference),
             "fast-defaults": ("fast-defaults.json", fast_defaults),
             "threads": ("threads.json", threads), "optim": ("optim.json", optim),
             "grouping": ("inference.json", grouping),
             "sample-memory": ("inference.json", sample_memory),
             "stage1": ("quality.json", stage1), "stage2": ("quality.json", stage2),
             "stage1-val": ("quality-val.json", stage1),
             "stage2-val": ("quality-val.json", stage2),
             "sr-augment": ("sr-augment.json", sr_augment),
             "decode": ("decode.json", decode),
             "upscale-range-val": ("upscale-range-val.json", upscale_range),
             "upscale-range": ("upscale-range.json", upscale_range),
             "train-speed": ("train-speed.json", train_speed),
             "verbs": ("inference.json", verbs),
             "leaks-fashion": ("leaks-fashion.json", leaks_fashion),
             "leaks-lookalike": ("leaks-lookalike.json", leaks_lookalike),
             "leaks-lookalike-val": ("leaks-lookalike-val.json", leaks_lookalike),
             "leaks-rules-lookalike-val": ("leaks-lookalike-val.json", leaks_rules),
             "cyclegan-real": ("cyclegan-real.json", cyclegan_real),
             "cyclegan-real-256": ("cyclegan-real-256.json", cyclegan_real),
             "faces-real": ("faces-real.json", faces_real), "video": ("video.json", video),
             "faces-tune-ema": ("faces-real-tune-ema.json",
                                lambda doc: tuning(doc, FACES_TUNE)),
             "faces-tune-batch": ("faces-real-tune-batch32.json",
                                  lambda doc: tuning(doc, FACES_TUNE)),
             "faces-tune-diffaug": ("faces-real-tune-diffaug.json",
                                    lambda doc: tuning(doc, FACES_TUNE)),
             "facades-tune-l1": ("pix2pix-real-tune-facades-l1.json", facades_tuning),
             "facades-tune-l1-500": ("pix2pix-real-tune-facades-l1-500.json", facades_tuning),
             "cyclegan-tune-identity": ("cyclegan-real-tune-identity.json",
                                        lambda doc: tuning(doc, CYCLEGAN_TUNE)),
             "cyclegan-tune-upsample": ("cyclegan-real-tune-upsample.json",
                                        lambda doc: tuning(doc, CYCLEGAN_TUNE_ARTEFACTS)),
             "cyclegan-tune-input-skip": ("cyclegan-real-tune-input-skip.json",
                                          lambda doc: tuning(doc, CYCLEGAN_TUNE_ARTEFACTS)),
             "cyclegan-tune-identity-01": ("cyclegan-real-tune-identity-0.1.json",
                                            lambda doc: tuning(doc, CYCLEGAN_TUNE_BACKGROUND))}
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


if __name__ == "__main__":
    main()
