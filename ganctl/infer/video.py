"""Video in, video out: a clip's frames decoded, run through an image function in small
batches (memory bounded by the batch, not the clip), and encoded again at the input's
frame rate, with the audio stream copied packet for packet. Decoding and encoding go
through PyAV (the `video` extra), which ships FFmpeg in its wheels.

Output: a video file (.mp4/.mov/.mkv: H.264, .webm: VP9, .gif, .avi: MPEG-4), written to
a temporary name and renamed when complete, or a folder of numbered PNG frames.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from PIL import Image

from ganctl.errors import GanctlError, UsageError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif")
# output suffix -> (codec, pixel format, codec options)
H264 = ("libx264", "yuv420p", {"crf": "17", "preset": "medium"})
ENCODERS = {".mp4": H264, ".mov": H264, ".mkv": H264, ".m4v": H264,
            ".webm": ("libvpx-vp9", "yuv420p", {"crf": "24", "b": "0"}),
            ".avi": ("mpeg4", "yuv420p", {"qscale": "2"}),
            ".gif": ("gif", "rgb8", {})}
BATCH = 8  # frames per call of the image function


def require_av():
    try:
        import av
    except ImportError:
        raise GanctlError("video needs PyAV: pip install 'ganctl[video]'") from None
    return av


def is_video(path: str | Path) -> bool:
    """A file named like a video (an animated GIF counts, a still one does not)."""
    p = Path(path)
    if p.suffix.lower() not in VIDEO_SUFFIXES or not p.is_file():
        return False
    if p.suffix.lower() != ".gif":
        return True
    try:
        with Image.open(p) as img:
            return getattr(img, "n_frames", 1) > 1
    except OSError:
        return False


def encoder_for(dest: str | Path) -> tuple[str, str, dict]:
    suffix = Path(dest).suffix.lower()
    if suffix not in ENCODERS:
        raise UsageError(f"{dest}: a video is written as {', '.join(ENCODERS)} or into a "
                         "folder of PNG frames (-o DIR/)")
    return ENCODERS[suffix]


@dataclass
class Summary:
    """What one clip gave: the JSON row of `--json` and the summary line."""

    input: str
    output: str
    frames: int = 0
    failed: list[int] = field(default_factory=list)  # frame numbers that did not decode
    fps_in: float = 0.0
    size_in: tuple[int, int] = (0, 0)
    size_out: tuple[int, int] = (0, 0)
    audio: bool = False
    rotation: int = 0  # the input's display rotation, kept in a video output
    seconds: float = 0.0

    def row(self) -> dict:
        return {"input": self.input, "output": self.output, "frames": self.frames,
                "failed_frames": self.failed, "fps_in": round(self.fps_in, 3),
                "frames_per_s": round(self.frames / max(self.seconds, 1e-9), 3),
                "size_in": list(self.size_in), "size_out": list(self.size_out),
                "audio_copied": self.audio, "rotation": self.rotation,
                "seconds": round(self.seconds, 3)}


class FramesWriter:
    """Numbered PNG frames (000001.png, ...) in a folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.n = 0

    def open(self, size, rate, audio, rotation: int = 0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def audio(self, packet) -> None:
        """Frames have no sound track: audio is dropped."""

    def frame(self, img: Image.Image) -> None:
        from ganctl.infer.io import save_image

        self.n += 1
        save_image(img, self.folder / f"{self.n:06d}.png")

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class VideoWriter:
    """An encoded video (audio packets copied from the input), written under a temporary
    name in the destination's folder and renamed into place by `close`."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.codec, self.pix_fmt, self.options = encoder_for(dest)
        self.tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}{dest.suffix}")
        self.out = self.stream = self.audio_stream = None
        self.n = 0

    def open(self, size: tuple[int, int], rate: Fraction, audio, rotation: int = 0) -> None:
        """Start the file; `rotation`: the input's display rotation, kept so a player
        shows the output the way it showed the input."""
        av = require_av()
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.out = av.open(str(self.tmp), mode="w")
        pix_fmt = self.pix_fmt
        if pix_fmt == "yuv420p" and (size[0] % 2 or size[1] % 2):
            pix_fmt = "yuv444p"  # 4:2:0 needs even sides
        self.stream = self.out.add_stream(self.codec, rate=rate, options=self.options)
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = pix_fmt
        if rotation:
            self.stream.set_display_rotation(rotation)
        self.rate = rate
        if audio is not None and self.dest.suffix.lower() != ".gif":  # GIF has no sound
            try:
                self.audio_stream = self.out.add_stream_from_template(audio)
            except ValueError:
                raise GanctlError(f"the input's {audio.codec_context.name} audio cannot go "
                                  f"into a {self.dest.suffix} file; write .mkv (takes any "
                                  "codec) or .mp4") from None

    def audio(self, packet) -> None:
        if self.audio_stream is not None:
            packet.stream = self.audio_stream
            self.out.mux(packet)

    def frame(self, img: Image.Image) -> None:
        av = require_av()
        frame = av.VideoFrame.from_image(img.convert("RGB"))
        frame.pts, frame.time_base = self.n, 1 / self.rate
        self.n += 1
        self.out.mux(self.stream.encode(frame))

    def close(self) -> None:
        if self.out is None:
            return
        self.out.mux(self.stream.encode(None))
        self.out.close()
        self.out = None
        os.replace(self.tmp, self.dest)

    def abort(self) -> None:
        if self.out is not None:
            try:
                self.out.close()
            except Exception:  # noqa: BLE001 - a half-written file is removed anyway
                pass
            self.out = None
        self.tmp.unlink(missing_ok=True)


def writer_for(dest: str) -> FramesWriter | VideoWriter:
    from ganctl.infer.io import is_dir_target

    return FramesWriter(Path(dest)) if is_dir_target(dest) else VideoWriter(Path(dest))


def frames(inp, start: float, end: float | None, failed: list[int]) -> Iterator:
    """("frame", (PIL image, display rotation)) for each decodable video frame in
    [start, end) and ("audio", packet) for the audio packets of that span, their times
    moved back by `start`. A packet that does not decode is skipped; its frame number
    goes into `failed`."""
    av = require_av()
    video = inp.streams.video[0]
    audio = inp.streams.audio[0] if inp.streams.audio else None
    if start:
        inp.seek(int(start / video.time_base), stream=video)  # the keyframe before start
    number = 0
    for packet in inp.demux(*(s for s in (video, audio) if s is not None)):
        if packet.dts is None:  # a demuxer's flush packet
            continue
        if packet.stream is audio:
            t = float(packet.pts * packet.time_base)
            if (not start or t >= start) and (end is None or t < end):  # keep the priming
                shift = int(start / packet.time_base)  # packets before 0 of a whole clip
                packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
                yield "audio", packet
            continue
        try:
            decoded = packet.decode()
        except av.FFmpegError:
            number += 1
            failed.append(number)
            continue
        for frame in decoded:
            t = seconds(frame, video)
            if t < start:
                continue
            if end is not None and t >= end:
                return
            number += 1
            yield "frame", (frame.to_image(), int(frame.rotation or 0))
    try:  # frames the decoder still holds
        for frame in video.decode(None):
            if end is None or seconds(frame, video) < end:
                number += 1
                yield "frame", (frame.to_image(), int(frame.rotation or 0))
    except av.FFmpegError:
        pass


def seconds(frame, stream) -> float:
    """A decoded frame's time (frames flushed from the decoder carry no time base)."""
    return float(frame.pts * stream.time_base) if frame.pts is not None else 0.0


def open_clip(src: Path):
    """A clip opened for decoding, its video stream decoded by slices, never by frames:
    with frame-threaded decoding (`thread_type` FRAME or AUTO) the H.264 files written
    differed run to run (`test_the_same_clip_gives_the_same_file_run_to_run`)."""
    import av

    try:
        inp = av.open(str(src))
    except (av.FFmpegError, OSError) as e:
        raise GanctlError(f"{src}: not a readable video ({first_line(e)})") from None
    for stream in inp.streams.video:
        stream.thread_type = "SLICE"
    return inp


def translate_video(src: Path, dest: str, fn: Callable[[list], list], start: float = 0.0,
                    duration: float | None = None, batch: int = BATCH,
                    progress: Callable[[int, int | None], None] | None = None) -> Summary:
    """Run `fn(list of same-size PIL images) -> list of PIL images` over the frames of
    `src` and write the result to `dest` (a video file or a folder ending in /).
    `progress(frames done, frames expected or None)` is called after every batch."""
    av = require_av()
    t0 = time.perf_counter()
    inp = open_clip(src)
    writer = writer_for(dest)
    summary = Summary(str(src), str(dest))
    try:
        with inp:
            if not inp.streams.video:
                raise GanctlError(f"{src}: no video stream")
            video = inp.streams.video[0]
            audio = inp.streams.audio[0] if inp.streams.audio else None
            rate = video.average_rate or video.guessed_rate or Fraction(25)
            summary.fps_in = float(rate)
            summary.audio = audio is not None and isinstance(writer, VideoWriter) and \
                Path(dest).suffix.lower() != ".gif"
            expected = expected_frames(video, rate, start, duration)
            end = start + duration if duration else None
            pending: list[Image.Image] = []
            held: list = []  # audio before the writer opens (with the first frame's size)
            for kind, item in frames(inp, start, end, summary.failed):
                if kind == "audio":
                    held.append(item)
                else:
                    img, summary.rotation = item
                    pending.append(img)
                if len(pending) == batch:
                    run_batch(pending, fn, writer, summary, rate, audio)
                    pending = []
                    if progress:
                        progress(summary.frames, expected)
                if summary.frames:
                    for packet in held:
                        writer.audio(packet)
                    held = []
            if pending:
                run_batch(pending, fn, writer, summary, rate, audio)
                for packet in held:
                    writer.audio(packet)
            if progress:
                progress(summary.frames, summary.frames)
        if not summary.frames:
            raise GanctlError(f"{src}: no frame could be decoded"
                              + (f" in {start:g}-{end:g} s" if end else ""))
        writer.close()
    except (OSError, av.FFmpegError) as e:  # e.g. the disk filled up
        writer.abort()
        raise GanctlError(f"{dest}: cannot write the video ({first_line(e)})") from None
    except BaseException:  # Ctrl-C, a failing frame: no half-written file is left
        writer.abort()
        raise
    summary.seconds = time.perf_counter() - t0
    return summary


def run_batch(images, fn, writer, summary: Summary, rate, audio) -> None:
    if not summary.frames:
        summary.size_in = images[0].size
    try:
        outputs = fn(images)
    except (RuntimeError, ValueError, MemoryError) as e:
        raise GanctlError(f"frames {summary.frames + 1}-{summary.frames + len(images)}: "
                          f"cannot process ({type(e).__name__}: {first_line(e)})") from None
    if not summary.frames:
        summary.size_out = outputs[0].size
        writer.open(outputs[0].size, rate, audio, summary.rotation)
    for img in outputs:
        writer.frame(img)
    summary.frames += len(outputs)


def expected_frames(video, rate: Fraction, start: float, duration: float | None):
    total = video.frames or (int(float(video.duration * video.time_base) * rate)
                             if video.duration else 0)
    if duration:
        return int(duration * rate)
    if total and start:
        return max(0, total - int(start * rate))
    return total or None


def first_line(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)  # FFmpeg's message without its errno
    return text.splitlines()[0][:160] if text else type(e).__name__
