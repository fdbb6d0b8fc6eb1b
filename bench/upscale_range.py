"""How wide the upscaler's local-range clamp should be: the bundled photo-x4 on photos it
never trained on, x4 from a quarter of their size, the low-resolution input saved as a
JPEG (quality 75, where the speckles showed) and as PNG.

    python -m bench.upscale_range --split val     # chooses RANGE_MARGIN
    python -m bench.upscale_range --split test    # reports it

val: the first 24 horse2zebra trainA photos; test: the horse2zebra testA and testB photos
(../shared/data: research data, read here, never committed). Per margin: PSNR (RGB, data
range 1, 4-px border shaved) and speckles, output pixels in dark areas (bicubic below
50/255) more than 40/255 above both bicubic and every input pixel around them.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "horse2zebra"
MARGINS = {"off": 2.0, "0": 0.0, "8/255": 8 / 255, "16/255": 16 / 255, "32/255": 32 / 255}


def photos(split: str) -> list[Path]:
    if split == "val":
        return sorted((SHARED / "trainA").glob("*.jpg"))[:24]
    return sorted((SHARED / "testA").glob("*.jpg")) + sorted((SHARED / "testB").glob("*.jpg"))


def low_res(hr: Image.Image, jpeg: bool) -> Image.Image:
    w, h = hr.width // 4, hr.height // 4
    lr = hr.resize((w, h), Image.Resampling.BICUBIC, reducing_gap=None)
    if jpeg:
        buf = io.BytesIO()
        lr.save(buf, format="JPEG", quality=75)
        lr = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return lr


def scores(out: Image.Image, hr: Image.Image, lr: Image.Image) -> tuple[float, int]:
    a = np.asarray(out, dtype=np.float64) / 255
    b = np.asarray(hr.crop((0, 0, out.width, out.height)), dtype=np.float64) / 255
    a, b = a[4:-4, 4:-4], b[4:-4, 4:-4]
    psnr = float(10 * np.log10(1 / max(np.mean((a - b) ** 2), 1e-12)))
    bic = np.asarray(lr.resize(out.size, Image.Resampling.BICUBIC), dtype=np.int32)
    o = np.asarray(out, dtype=np.int32)
    x = torch.from_numpy(np.asarray(lr, dtype=np.float32)).permute(2, 0, 1)[None]
    hi = torch.nn.functional.max_pool2d(x, 3, 1, 1)[0].permute(1, 2, 0).numpy()
    hi = hi.repeat(4, 0).repeat(4, 1)[:o.shape[0], :o.shape[1]]
    dark = bic.max(-1) < 50
    speck = ((o - bic).max(-1) > 40) & ((o - hi).max(-1) > 40) & dark
    return psnr, int(speck.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from ganctl.infer import upscale
    from ganctl.tasks import Upscaler

    torch.set_num_threads(max(1, torch.get_num_threads()))
    up = Upscaler.load("photo-x4", device="cpu")
    net, scale, channels, pad = up.net, up.scale, up.channels, up.context
    files = photos(args.split)
    if not files:
        sys.exit(f"no photos in {SHARED}")
    rows = {}
    for jpeg in (True, False):
        for name, margin in MARGINS.items():
            upscale.RANGE_MARGIN = margin
            psnrs, specks = [], 0
            for f in files:
                hr = Image.open(f).convert("RGB")
                lr = low_res(hr, jpeg)
                out = upscale.upscale_image(lr, net, scale, channels, torch.device("cpu"),
                                            256, pad)
                p, n = scores(out, hr, lr)
                psnrs.append(p)
                specks += n
            key = f"{'jpeg' if jpeg else 'png'} margin {name}"
            rows[key] = {"psnr_median": round(statistics.median(psnrs), 3),
                         "psnr_mean": round(statistics.fmean(psnrs), 3), "speckles": specks}
            print(key, rows[key], flush=True)
    from bench.common import provenance

    doc = {"split": args.split, "images": len(files), "rows": rows,
           **provenance(torch.device("cpu"))}
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
