"""ROC and precision-recall plots of anomaly scores, with the operating point of a
threshold marked (`detect-leaks --plots`, the demo's detection page)."""

from __future__ import annotations

from pathlib import Path

from ganctl.metrics import detection


def write_plots(y, s, t, folder: Path, rule: str = "") -> list[str]:
    """roc.png and pr.png in `folder`, the operating point of threshold `t` marked and
    labelled with the rule that chose it (its first word: "best-f1", "quantile:0.97")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fpr, tpr, thr = detection.roc_curve(y, s)
    prec, rec, _ = detection.pr_curve(y, s)
    out = []
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"ROC (AUC {detection.roc_auc(y, s):.3f})")
    point = detection.operating_point(y, s, t)
    label = f"threshold {t:.4g}" + (f" ({rule.split()[0]})" if rule else "")
    ax.scatter([point["fpr"]], [point["recall"]], color="red", zorder=3, label=label)
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate (normal flagged)", ylabel="true positive rate "
           "(leaks found)", title="ROC curve", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(folder / "roc.png", dpi=120)
    out.append(str(folder / "roc.png"))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(rec, prec, label=f"PR (AP {detection.average_precision(y, s):.3f})")
    ax.axhline(y.mean(), color="gray", linestyle=":", linewidth=1, label="chance")
    if point["precision"] is not None:  # undefined when nothing is flagged
        ax.scatter([point["recall"]], [point["precision"]], color="red", zorder=3,
                   label=label)
    ax.set(xlabel="recall (leaks found)", ylabel="precision (flags that are leaks)",
           title="precision-recall curve", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(folder / "pr.png", dpi=120)
    out.append(str(folder / "pr.png"))
    plt.close(fig)
    return out
