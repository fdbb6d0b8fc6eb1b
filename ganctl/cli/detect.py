"""The work of `ganctl detect-leaks`: score, label, report, and write what was asked."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from ganctl.cli.common import print_json, say_weights
from ganctl.console import err, error, info, safe, warn
from ganctl.errors import GanctlError, UsageError

LEAKS_FOUND = 3


def run_detection(items, weights, threshold, csv_out, heatmaps, annotations, plots,
                  fail_on_leak, device, as_json) -> None:
    from ganctl import registry
    from ganctl.tasks import Detector

    detectors = registry.for_task("detect")
    if not detectors:
        raise GanctlError("no installed plugin detects anomalies (the built-in one is leaks)")
    plugin = registry.get(detectors[0])
    if plots and not (annotations or any(plugin.detect_inputs(Path(i))[1] for i in items)):
        raise UsageError("--plots needs annotations (--annotations FILE or a dataset folder)")
    expanded = []
    for item in items:
        found, ann = plugin.detect_inputs(Path(item)) if item != "-" else ([item], None)
        expanded += found
        annotations = annotations or ann
    d = Detector.load(plugin.name, weights, device, threshold)
    say_weights(plugin, d.weights)
    t, rule, meta = d.threshold, d.rule, d.meta
    rows, scored = score_inputs(d, expanded, heatmaps)
    metrics = annotate(scored, annotations, t, rule, plots) if annotations else None
    if csv_out:
        write_csv(rows, Path(csv_out))
    failed = [r for r in rows if "error" in r]
    leaks = [r for r in scored if r["leak"]]
    if as_json:
        print_json({"threshold": t, "threshold_rule": rule, "score": meta.get("score", "mse"),
                    "weights": d.used.record, "images": len(scored),
                    "leaks": len(leaks), "failed": len(failed), "metrics": metrics,
                    "results": rows})
    summarize(scored, leaks, failed, t, rule, metrics)
    far = out_of_domain(scored, meta)
    if far:
        warn(far)
    if failed:
        raise GanctlError(f"{len(failed)} of {len(rows)} input(s) could not be read")
    if fail_on_leak and leaks:
        sys.exit(LEAKS_FOUND)


def score_inputs(d, expanded: list[str], heatmaps) -> tuple[list[dict], list[dict]]:
    """(a row per input, scored or with its error; the scored rows), 256 images at a time;
    heat maps written under `heatmaps` when asked."""
    from ganctl.infer.io import expand_inputs, save_image

    inputs, problems = expand_inputs(expanded)
    rows = [{"input": p.split(":")[0], "error": p} for p in problems]
    opened = []
    for inp in inputs:
        try:
            opened.append((inp, inp.open(channels=d.pre.channels)))
        except GanctlError as e:
            rows.append({"input": inp.name, "error": str(e)})
    scored = []
    for start in range(0, len(opened), 256):
        chunk = opened[start:start + 256]
        scores, maps = d.scores([img for _, img in chunk])
        for (inp, img), s, m in zip(chunk, scores, maps):
            row = {"input": inp.name, "score": float(s), "leak": bool(s > d.threshold)}
            if heatmaps:
                out = Path(heatmaps) / Path(inp.rel).with_suffix(".png")
                row["heatmap"] = save_image(d.heatmap(img, m), out)
            rows.append(row)
            scored.append(row)
    return rows, scored


def annotate(scored: list[dict], annotations, t: float, rule: str, plots) -> dict | None:
    """Labels from the annotation file onto the scored rows; the metrics at threshold `t`
    (and the ROC/PR plots when asked), or None when no scored image has a label."""
    from ganctl.data.layouts import read_annotations
    from ganctl.metrics import detection
    from ganctl.metrics.detection_plots import write_plots

    labels_by_name, bad = read_annotations(Path(annotations))
    for line in bad[:3]:
        warn(f"skipped annotation line {line}")
    if not labels_by_name:
        return None
    named = [(Path(r["input"]).name, r) for r in scored]
    y, s, unlabelled, absent = detection.labelled([(n, r["score"]) for n, r in named],
                                                  labels_by_name)
    for n, r in named:
        if n in labels_by_name:
            r["label"] = labels_by_name[n]
    if unlabelled or absent:
        warn(f"annotations: {unlabelled} scored image(s) without a label, {absent} "
             "labelled file(s) not among the inputs; metrics use the images with both")
    if not len(y):
        return None
    if y.min() == y.max():
        warn("the annotated images are all one class: ROC and PR AUC are undefined")
    metrics = detection.report(y, s, t)
    metrics["images"] = len(y)
    if plots:
        metrics["plots"] = write_plots(y, s, t, Path(plots), rule)
    return metrics


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["input", "score", "leak", "label", "heatmap", "error"],
                           extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


OUT_OF_DOMAIN = 3.0  # times the highest calibration score


def out_of_domain(scored: list[dict], meta: dict) -> str | None:
    """A note when images score far above anything seen in calibration: most likely not
    the kind of image the detector was trained on, so "leak" only means "unlike them"."""
    highest = meta.get("calibration", {}).get("highest")
    if not highest or not scored:
        return None
    far = [r for r in scored if r["score"] > OUT_OF_DOMAIN * highest]
    if not far:
        return None
    return (f"{len(far)} of {len(scored)} image(s) score over {OUT_OF_DOMAIN:g}x the highest "
            f"score seen in calibration ({highest:.4g}), e.g. {Path(far[0]['input']).name}: "
            "they look unlike anything the detector was trained on (another kind of image?), "
            "so their verdict says only that")


def summarize(scored, leaks, failed, t, rule, metrics) -> None:
    from rich.table import Table

    for r in failed:
        error(r["error"])
    info(f"threshold {t:.4g}: {safe(rule)}")
    table = Table(title=f"{len(leaks)} leak(s) in {len(scored)} image(s) (threshold {t:.4g})",
                  box=None)
    for col in ("image", "score", "verdict"):
        table.add_column(col)
    for r in sorted(scored, key=lambda r: -r["score"])[:15]:
        table.add_row(safe(Path(r["input"]).name), f"{r['score']:.5g}",
                      "[red]leak[/red]" if r["leak"] else "normal")
    if len(scored) > 15:
        table.caption = f"highest 15 of {len(scored)} scores shown; --csv/--json for all"
    err().print(table)
    if metrics:
        (tn, fp), (fn, tp) = metrics["confusion"]
        leak = metrics["classes"]["leak"]
        info(f"vs annotations ({metrics['images']} images): accuracy {metrics['accuracy']:.3f}"
             f"  leak precision {leak['precision']:.3f} recall {leak['recall']:.3f} "
             f"F1 {leak['f1']:.3f}  ROC AUC {auc(metrics['roc_auc'])}  PR AUC "
             f"{auc(metrics['pr_auc'])}  confusion [[TN {tn}, FP {fp}], [FN {fn}, TP {tp}]]")


def auc(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"  # NaN: one class only
