"""`ganctl evaluate upscale --hr FOLDER`: an upscaler scored on the user's own photos with
the super-resolution papers' protocol (`ganctl.metrics.sr`), bicubic beside it."""

from __future__ import annotations

import csv
from pathlib import Path

from ganctl.cli.common import print_json


def evaluate_upscaler(hr_dir: Path, model: str | None, weights: str | None,
                      csv_out: Path | None, device: str, as_json: bool) -> None:
    from ganctl import registry
    from ganctl.console import info, warn
    from ganctl.data.images import BadImage, list_images, open_image
    from ganctl.device import resolve
    from ganctl.errors import GanctlError, UsageError
    from ganctl.infer.upscale import load_upscaler, run_with_backoff
    from ganctl.metrics import sr
    from ganctl.tensors import from_pil

    if not hr_dir.is_dir():
        raise UsageError(f"--hr {hr_dir}: no such folder")
    files = list_images(hr_dir)
    if not files:
        raise UsageError(f"--hr {hr_dir}: no images in it")
    dev = resolve(device)
    up = load_upscaler(registry.get("sneakers"), model, weights, dev)
    info(up.line)
    rows, failed = [], 0
    for path in files:
        try:
            img = open_image(path, 3 if up.channels == 3 else 1)
        except BadImage as e:
            warn(str(e))
            failed += 1
            continue
        hr = sr.crop_to(from_pil([img]), up.scale)
        if min(hr.shape[-2:]) < 4 * up.scale:
            warn(f"{path}: {img.width}x{img.height} is too small to score at x{up.scale}")
            failed += 1
            continue
        lr = sr.downscale(hr, up.scale)
        out = run_with_backoff(up.net, lr, up.scale, 256, up.context, dev)[None]
        border = up.scale
        rows.append({"image": str(path.relative_to(hr_dir)), "size": list(img.size),
                     "upscaler": sr.scores(out, hr, border),
                     "bicubic": sr.scores(sr.bicubic(lr, up.scale), hr, border)})
    if not rows:
        raise GanctlError(f"no image in {hr_dir} could be scored")
    mean = {k: sr.means([r[k] for r in rows]) for k in ("upscaler", "bicubic")}
    key = "psnr_y" if "psnr_y" in mean["upscaler"] else "psnr_rgb"
    gain = round(mean["upscaler"][key] - mean["bicubic"][key], 2)
    if csv_out:
        write_csv(csv_out, rows)
    result = {"task": "upscale", "weights": up.record, "scale": up.scale,
              "protocol": f"x{up.scale} bicubic down-sampling with antialiasing, 8-bit "
                          f"outputs, PSNR/SSIM on BT.601 Y (and RGB), {up.scale}-px border "
                          "shaved",
              "images": len(rows), "failed": failed, "mean": mean, f"gain_{key}_db": gain,
              "per_image": rows}
    if as_json:
        print_json(result)
    else:
        print_scores(rows, mean, key, gain)
    if failed:
        raise SystemExit(1)


def print_scores(rows: list[dict], mean: dict, key: str, gain: float) -> None:
    """A line per image, then the means, for people."""
    ssim = key.replace("psnr", "ssim")
    for r in rows:
        u, b = r["upscaler"], r["bicubic"]
        print(f"{r['image']}  {key} {u[key]:.2f} dB (bicubic {b[key]:.2f})  "
              f"ssim {u[ssim]:.4f} (bicubic {b[ssim]:.4f})")
    u, b = mean["upscaler"], mean["bicubic"]
    print(f"mean of {len(rows)}: {key} {u[key]:.2f} dB, {gain:+.2f} dB over bicubic "
          f"({b[key]:.2f}); ssim {u[ssim]:.4f} (bicubic {b[ssim]:.4f})")


def write_csv(path: Path, rows: list[dict]) -> None:
    metrics = list(rows[0]["upscaler"])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", *metrics, *(f"bicubic_{m}" for m in metrics)])
        for r in rows:
            w.writerow([r["image"], *(f"{r['upscaler'][m]:.4f}" for m in metrics),
                        *(f"{r['bicubic'][m]:.4f}" for m in metrics)])
