"""Binary detection metrics on anomaly scores (label 1 = anomaly/leak)."""

from __future__ import annotations

import numpy as np


def _ranked(labels, scores):
    """Labels and scores sorted by descending score, the index of the last item of each
    run of tied scores, and the true positives above each of those cut points."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    return y, s, distinct, np.cumsum(y)[distinct]


def roc_curve(labels, scores):
    """(false positive rates, true positive rates, thresholds), thresholds descending;
    ties in score move together, as they must."""
    y, s, distinct, tps = _ranked(labels, scores)
    fps = (distinct + 1) - tps
    pos, neg = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    return np.r_[0.0, fps / neg], np.r_[0.0, tps / pos], np.r_[np.inf, s[distinct]]


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (= P(score of a random anomaly > a random normal),
    ties counted half)."""
    y = np.asarray(labels, dtype=int)
    if y.min() == y.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids


def pr_curve(labels, scores):
    """(precision, recall, thresholds) over descending thresholds."""
    y, s, distinct, tps = _ranked(labels, scores)
    predicted = distinct + 1
    return tps / predicted, tps / max(int(y.sum()), 1), s[distinct]


def average_precision(labels, scores) -> float:
    """PR AUC as average precision: sum over thresholds of precision x recall step."""
    y = np.asarray(labels, dtype=int)
    if y.sum() == 0:
        return float("nan")
    precision, recall, _ = pr_curve(labels, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def operating_point(labels, scores, threshold: float) -> dict:
    """Where flagging `score > threshold` lands: false positive rate, recall (= true
    positive rate) and precision (None when nothing is flagged)."""
    y = np.asarray(labels, dtype=int)
    flagged = np.asarray(scores, dtype=float) > threshold
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    return {"fpr": fp / max(int((y == 0).sum()), 1), "recall": tp / max(int(y.sum()), 1),
            "precision": tp / (tp + fp) if tp + fp else None}


def confusion(labels, predicted) -> list[list[int]]:
    """[[TN, FP], [FN, TP]] (rows: true 0/1, columns: predicted 0/1)."""
    y, p = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    return [[int(((y == 0) & (p == 0)).sum()), int(((y == 0) & (p == 1)).sum())],
            [int(((y == 1) & (p == 0)).sum()), int(((y == 1) & (p == 1)).sum())]]


def report(labels, scores, threshold: float) -> dict:
    """Everything a detection run reports: confusion matrix, per-class precision, recall
    and F1, accuracy, ROC AUC and PR AUC."""
    predicted = (np.asarray(scores) > threshold).astype(int)
    (tn, fp), (fn, tp) = confusion(labels, predicted)

    def prf(tp_, fp_, fn_):
        p = tp_ / (tp_ + fp_) if tp_ + fp_ else 0.0
        r = tp_ / (tp_ + fn_) if tp_ + fn_ else 0.0
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                "support": tp_ + fn_}

    return {"threshold": threshold, "confusion": [[tn, fp], [fn, tp]],
            "accuracy": (tp + tn) / max(len(predicted), 1),
            "classes": {"normal": prf(tn, fn, fp), "leak": prf(tp, fp, fn)},
            "roc_auc": roc_auc(labels, scores), "pr_auc": average_precision(labels, scores)}


def best_f1_threshold(labels, scores) -> float:
    """The threshold (scores strictly above it are anomalies) with the best anomaly F1.

    Every threshold between the lowest flagged score and the next lower score has that
    F1; this takes the low end of the gap, the next lower score itself. Leaks unlike the
    known ones tend to score closer to the normal images, so the low end catches more of
    them, and it flags a new normal image only when it scores above every held-out
    normal image that stayed unflagged."""
    precision, recall, thresholds = pr_curve(labels, scores)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    i = int(np.argmax(f1))
    s = np.sort(np.asarray(scores, dtype=float))
    below = s[s < thresholds[i]]
    return float(below[-1] if len(below) else thresholds[i] - 1e-12)


def labelled(scored, labels: dict[str, int]):
    """Match (file name, score) pairs to annotations by file name: (labels array, scores
    array) of the images that have both, the number of scored names without a label, and
    the number of labelled files that were not scored."""
    both = [(labels[n], score) for n, score in scored if n in labels]
    y = np.array([b[0] for b in both], dtype=int)
    s = np.array([b[1] for b in both], dtype=float)
    names = {n for n, _ in scored}
    return y, s, len(names - set(labels)), len(set(labels) - names)
