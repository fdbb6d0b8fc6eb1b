"""Benchmark: `translate` and `upscale` on video files.

- Speed: a 256x256 clip through `ganctl translate horse2zebra` (the paper's ResNet-9,
  as the published generator is; trained one step into a private GANCTL_HOME, since speed
  does not depend on the weights) and a 320x240 clip through `ganctl upscale` (the
  bundled photo-x4), each as one command on the clip, against the same frames as PNG
  files through one command on their folder (what a user does without video support,
  after extracting the frames; the extraction and re-encoding are not counted on that
  side). Interleaved, `--repeats` rounds, fresh processes, whole-command wall time.
- Memory: the peak RSS of `ganctl upscale` on a clip and on one 10x longer.
- `--picture`: a pan across docs/img/coffee-small.png (a photo `photo-x4` never trained
  on) as a 64x48 clip, upscaled by the command; its middle frame, bicubic beside ganctl.

    python -m bench.video --json docs/bench/video.json --picture docs/img/video-frame.png
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import provenance, write_json
from bench.inference import cli
from bench.stats import spread

HERE = Path(__file__).resolve().parent
from tests.test_video import make_clip  # noqa: E402 - the tests' clip maker


def frames_to_pngs(clip: Path, folder: Path) -> int:
    import av

    folder.mkdir(parents=True)
    with av.open(str(clip)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            frame.to_image().save(folder / f"{i:06d}.png")
    return i + 1


def timed_cli(*args) -> float:
    t0 = time.perf_counter()
    cli(*args)
    return time.perf_counter() - t0


def speed(work: Path, verb: list[str], clip: Path, repeats: int) -> dict:
    pngs = work / f"{clip.stem}-frames"
    n = frames_to_pngs(clip, pngs)
    clip_s, folder_s = [], []
    for r in range(repeats):  # interleaved: clip, folder, clip, folder, ...
        clip_s.append(timed_cli(*verb, clip, "-o", work / f"{clip.stem}-out-{r}.mp4"))
        folder_s.append(timed_cli(*verb, pngs, "-o", f"{work / f'{clip.stem}-png-{r}'}/"))
    return {"frames": n, "clip_frames_per_s": spread([n / s for s in clip_s]),
            "png_folder_frames_per_s": spread([n / s for s in folder_s]),
            "ratio": statistics.median(f / c for c, f in zip(clip_s, folder_s))}


def pan_clip(photo: Path, path: Path, frames: int = 24, size=(64, 48)) -> Path:
    """A camera pan across `photo`, `size` pixels, at 24 frames/s (H.264, no sound)."""
    import av
    from PIL import Image

    img = np.asarray(Image.open(photo).convert("RGB"))
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=24, options={"crf": "10"})
    video.width, video.height, video.pix_fmt = *size, "yuv420p"
    span = img.shape[1] - size[0]
    for i in range(frames):
        x = round(span * i / (frames - 1))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:size[1], x:x + size[0]]),
                                           format="rgb24")
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode(None))
    out.close()
    return path


def picture(work: Path, dest: Path) -> None:
    from PIL import Image

    clip = pan_clip(HERE.parent / "docs" / "img" / "coffee-small.png", work / "pan.mp4")
    cli("upscale", clip, "-o", work / "pan-x4.mp4")
    import av

    def middle(path):
        with av.open(str(path)) as c:
            return [f.to_image() for f in c.decode(video=0)][12]
    small, big = middle(clip), middle(work / "pan-x4.mp4")
    side = Image.new("RGB", (big.width * 2 + 4, big.height), "white")
    side.paste(small.resize(big.size, Image.BICUBIC), (0, 0))
    side.paste(big, (big.width + 4, 0))
    dest.parent.mkdir(parents=True, exist_ok=True)
    side.save(dest, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--picture", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="video-bench-") as tmp:
        work = Path(tmp)
        os.environ["GANCTL_HOME"] = str(work / "home")
        cli("train", "horse2zebra", "--data", "synthetic", "--steps", "1", "--set",
            "recipe=paper", "workers=0", "--runs-dir", work / "runs")
        h2z = make_clip(work / "h2z.mp4", frames=args.frames, size=(256, 256), rate=24)
        small = make_clip(work / "small.mp4", frames=args.frames, size=(320, 240), rate=24)
        doc = {**provenance(torch.device("cpu")), "repeats": args.repeats,
               "translate horse2zebra 256x256 (ResNet-9)": speed(
                   work, ["translate", "horse2zebra"], h2z, args.repeats),
               "upscale 320x240 -> 1280x960 (photo-x4)": speed(
                   work, ["upscale"], small, args.repeats)}
        memory = {}
        for n in (20, 200):
            clip = make_clip(work / f"mem{n}.mp4", frames=n, size=(160, 120), rate=24)
            memory[n] = cli("upscale", clip, "-o", work / f"mem{n}-x4.mp4")
        doc["upscale_peak_rss_mb"] = {f"{n} frames 160x120": m["peak_rss_mb"]
                                      for n, m in memory.items()}
        doc["upscale_wall_s"] = {f"{n} frames 160x120": m["wall_s"] for n, m in memory.items()}
        if args.picture:
            picture(work, args.picture)
    doc["bench_seconds"] = round(time.perf_counter() - t0, 1)
    print(doc)
    write_json(doc, args.json)


if __name__ == "__main__":
    np.random.seed(0)
    main()
