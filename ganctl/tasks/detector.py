"""`Detector`: what `ganctl detect-leaks` runs, as one object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganctl.tasks.base import Used, device_of, used
from ganctl.tasks.inputs import as_images, one_or_many


@dataclass
class Detection:
    """One image's result: its anomaly score, whether it is above the threshold, and the
    per-pixel error map drawn over the image (`heatmap`, a PIL image)."""

    score: float
    leak: bool
    heatmap: Any = None


class Detector:
    """Anomaly detection with a calibrated threshold (the leaks VAE).

        d = Detector.load()                         # your trained detector
        r = d("photo.jpg")                          # Detection(score, leak, heatmap)
        print(d.threshold, d.rule)
    """

    def __init__(self, plugin, weights, device, threshold: float | None = None):
        self.plugin, self.weights, self.device = plugin, weights, device
        self.used: Used = used(weights, plugin)
        self.score_fn, self.meta, self.pre = plugin.detector(weights, device)
        self.threshold = float(threshold if threshold is not None else self.meta["threshold"])
        self.rule = "--threshold" if threshold is not None else threshold_rule(self.meta)

    @classmethod
    def load(cls, name: str | None = None, weights: str | None = None, device=None,
             threshold: float | None = None) -> Detector:
        """`name`: a detecting plugin (default: the first installed, leaks); `weights`:
        its weights (default: as `ganctl models list` shows); `threshold`: scores above
        it are leaks (default: the calibrated one stored with the weights)."""
        from ganctl import registry
        from ganctl import weights as weights_mod
        from ganctl.errors import GanctlError
        from ganctl.tasks.base import plugin_for

        if name is None:
            found = registry.for_task("detect")
            if not found:
                raise GanctlError("no installed plugin detects anomalies (the built-in one "
                                  "is leaks)")
            name = found[0]
        plugin = plugin_for("detect", name)
        return cls(plugin, weights_mod.for_plugin(plugin, 1, weights), device_of(device),
                   threshold)

    def open(self, path) -> Any:
        """An image file opened as the detector takes it (its channel count)."""
        from ganctl.data.images import open_image

        return open_image(path, channels=self.pre.channels)

    def scores(self, imgs: list) -> tuple[list[float], list]:
        """PIL images in the detector's mode (`open`) -> (scores, per-pixel error maps)."""
        scores, maps = self.score_fn(imgs)
        return [float(s) for s in scores], list(maps)

    def heatmap(self, img, error_map):
        return self.plugin.heatmap(img, error_map, self.pre)

    def __call__(self, images: Any, heatmaps: bool = True):
        """One image (PIL, path, array, tensor) -> a Detection; several -> a list."""
        from ganctl.data.images import to_mode

        imgs, one = as_images(images)
        imgs = [to_mode(i, self.pre.channels) for i in imgs]
        scores, maps = self.scores(imgs)
        return one_or_many([Detection(s, s > self.threshold,
                                      self.heatmap(i, m) if heatmaps else None)
                            for i, s, m in zip(imgs, scores, maps)], one)


def threshold_rule(meta: dict) -> str:
    """Which rule chose the stored threshold, on what: "best-f1 on 600 held-out normal and
    150 proliv images"."""
    cal = meta.get("calibration", {})
    counts = f"{cal['normal_images']} held-out normal" if "normal_images" in cal else ""
    if cal.get("leak_images"):  # with a leak head, the third of proliv/ it never saw
        counts += f" and {cal['leak_images']} {'held-out ' if meta.get('leak_head') else ''}proliv"
    return f"{meta.get('rule', 'calibrated')} on {counts} images" if counts else \
        meta.get("rule", "calibrated")
