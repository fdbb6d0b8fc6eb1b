"""`translate` and `upscale` on video: which inputs are clips, where each one's output
goes, a progress bar per clip, and the summary. Every clip is processed even if one fails."""

from __future__ import annotations

from pathlib import Path

from ganctl.cli.common import print_json
from ganctl.console import err, error, info
from ganctl.errors import GanctlError, UsageError


def split_inputs(items: list[str]) -> tuple[list[str], list[str]]:
    """(video files, everything else) among the command's inputs."""
    from ganctl.infer.video import is_video

    videos = [i for i in items if i != "-" and is_video(i)]
    return videos, [i for i in items if i not in videos]


def check_options(videos: list[str], images: list[str], out: str | None, start: float,
                  duration: float | None, fps: float | None) -> None:
    """Video options that would do nothing are usage errors, before any work."""
    from ganctl.infer.io import STDIO
    from ganctl.infer.video import VIDEO_SUFFIXES

    if start < 0 or (duration is not None and duration <= 0):
        raise UsageError("--start must be >= 0 and --duration > 0")
    if (start or duration) and not videos:
        raise UsageError("--start and --duration cut a video input; none was given")
    to_video = out is not None and Path(out).suffix.lower() in VIDEO_SUFFIXES
    if fps is not None and (videos or not to_video):
        raise UsageError("--fps sets the rate of a video made from images (-o clip.mp4); "
                         "a video input keeps its own rate")
    if fps is not None and fps <= 0:
        raise UsageError("--fps must be > 0")
    if videos and out == STDIO:
        raise UsageError("a video is written to a file or a folder, not to stdout")
    if videos and images:
        raise UsageError("give videos and images in separate commands")
    if len(videos) > 1 and out is not None and Path(out).suffix.lower() in VIDEO_SUFFIXES:
        raise UsageError(f"{len(videos)} videos cannot all be written to {out}; give -o DIR/")


def video_output(src: str, out: str | None, many: bool, suffix: str, folder: str) -> str:
    """One clip alone: -o FILE or -o DIR/ (numbered frames); several: DIR/NAME-SUFFIX.EXT.
    Without -o: NAME-SUFFIX.EXT here (the input's container)."""
    p = Path(src)
    own = f"{p.stem}-{suffix}{p.suffix.lower()}"
    if out is None:
        return str(Path(folder) / own) if many else own
    if many:
        return str(Path(out) / own)
    return out


def process_videos(videos: list[str], out: str | None, suffix: str, as_json: bool, fn,
                   start: float, duration: float | None, folder: str,
                   device_type: str = "cpu", meta: dict | None = None) -> None:
    """Each clip through `fn`, then the summary (`--json`: one row per clip); exit 1 when
    any clip failed, after the others were written. Frames go to `fn` a batch at a time
    on a GPU and one at a time on a CPU, where batches measured slower (as for images:
    `cli/batch.py`)."""
    from ganctl.infer.video import BATCH, translate_video

    batch = BATCH if device_type == "cuda" else 1
    rows = []
    for src in videos:
        dest = video_output(src, out, len(videos) > 1, suffix, folder)
        try:
            with progress_bar(Path(src).name, not as_json) as update:
                summary = translate_video(Path(src), dest, fn, start, duration, batch,
                                          progress=update)
        except GanctlError as e:
            rows.append({"input": src, "error": str(e)})
            error(str(e))
            continue
        row = summary.row()
        rows.append(row)
        if not as_json:
            bad = f", {len(summary.failed)} undecodable frame(s) skipped: {summary.failed}" \
                if summary.failed else ""
            info(f"{src} -> {dest}: {summary.frames} frames at {summary.fps_in:g} fps "
                 f"({row['frames_per_s']:.2f} frames/s){', audio copied' if summary.audio else ''}"
                 f"{bad}")
    report(rows, as_json, meta)


def images_to_video(items: list[str], dest: str, fn, fps: float) -> dict:
    """Images (e.g. a folder of frames, in name order) translated into one video."""
    from fractions import Fraction

    from ganctl.infer.io import expand_inputs
    from ganctl.infer.video import VideoWriter

    inputs, problems = expand_inputs(items)
    if problems:
        raise GanctlError("; ".join(problems))
    writer, size = VideoWriter(Path(dest)), None
    try:
        for inp in inputs:
            img = fn([inp.open(channels=None)])[0]
            if size is None:
                size = img.size
                writer.open(size, Fraction(fps).limit_denominator(1001), None)
            elif img.size != size:
                raise GanctlError(f"{inp.name} is {img.size[0]}x{img.size[1]}, the first "
                                  f"frame {size[0]}x{size[1]}: a video's frames share a size")
            writer.frame(img)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return {"output": dest, "frames": len(inputs), "fps": fps}


class progress_bar:
    """A Rich bar with frames, frames/s and the time left; silent when `show` is off."""

    def __init__(self, name: str, show: bool):
        self.name, self.show, self.bar = name, show, None

    def __enter__(self):
        if not self.show:
            return lambda done, total: None
        import time

        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[fps]} frames/s"),
                            TimeRemainingColumn(), console=err(), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.name, total=None, fps="-")
        t0 = time.perf_counter()

        def update(done: int, total: int | None) -> None:
            fps = done / max(time.perf_counter() - t0, 1e-9)
            self.bar.update(task, completed=done, total=total, fps=f"{fps:.1f}")
        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def report(rows: list, as_json: bool, meta: dict | None = None) -> None:
    """The summary of a video run (`meta`: what --json adds, e.g. the weights used)."""
    failed = [r for r in rows if "error" in r]
    if as_json:
        print_json({"processed": len(rows) - len(failed), "failed": len(failed),
                    "results": rows, **(meta or {})})
    if failed:
        raise GanctlError(f"{len(failed)} of {len(rows)} input(s) failed")
