"""`translate` and `upscale` on video files: rate, count, size and audio kept, each frame
what the image command gives, cuts, bad inputs and interruptions leave nothing behind.
The clips are made here with PyAV (moving shapes, a sine tone), so nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av")

from tests.test_pix2pix import TINY  # noqa: E402 - after the skip


def make_clip(path: Path, frames: int = 12, size=(64, 48), rate: int = 10, audio=True,
              codec: str = "libx264", pix_fmt: str = "yuv420p", rotation: int = 0) -> Path:
    """A square moving right over `frames` frames, with a 440 Hz AAC tone as long."""
    out = av.open(str(path), "w")
    video = out.add_stream(codec, rate=rate)
    video.width, video.height, video.pix_fmt = *size, pix_fmt
    if rotation:
        video.set_display_rotation(rotation)
    sound = None
    if audio:
        sound = out.add_stream("aac", rate=16000)
        sound.layout = "mono"
    for i in range(frames):
        arr = np.full((size[1], size[0], 3), 30, np.uint8)
        arr[10:26, 3 * i:3 * i + 16] = (240, 120, 20)
        frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode(None))
    if sound is not None:
        n = 16000 * frames // rate
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)).astype(np.float32)
        for k in range(0, n, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, k:k + 1024].copy(), format="fltp",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = 16000, k
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
    out.close()
    return path


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.dts is not None]


def decoded_frames(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as c:
        return [f.to_image() for f in c.decode(video=0)]


@pytest.mark.slow  # 2.3 s on a 2-core EPYC: the full suite only
def test_upscale_keeps_rate_count_audio_and_each_frame_is_the_image_result(cli, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    res = cli("upscale", clip, "-o", "big.mkv", "--json")
    assert res.code == 0, res.err
    row = json.loads(res.out)["results"][0]
    assert (row["frames"], row["fps_in"], row["size_out"], row["audio_copied"]) == \
        (12, 10.0, [256, 192], True)
    with av.open(str(tmp_path / "big.mkv")) as c:
        v = c.streams.video[0]
        assert (v.width, v.height, v.average_rate) == (256, 192, 10)
    assert len(decoded_frames(tmp_path / "big.mkv")) == 12
    assert audio_packets(tmp_path / "big.mkv") == audio_packets(clip)  # copied unchanged

    # Lossless check: PNG frames equal `upscale` of each decoded frame saved as a PNG,
    # and a second run gives byte-identical frames.
    assert cli("upscale", clip, "-o", "frames/").code == 0
    assert cli("upscale", clip, "-o", "again/").code == 0
    import ganctl

    up = ganctl.load("photo-x4", device="cpu")  # the Python API: the same pixels
    for i, frame in enumerate(decoded_frames(clip), 1):
        assert np.array_equal(np.asarray(up(frame)),
                              np.asarray(Image.open(tmp_path / "frames" / f"{i:06d}.png")))
        frame.save(tmp_path / f"f{i}.png")
        assert cli("upscale", f"f{i}.png", "-o", f"one{i}.png").code == 0
        ours = (tmp_path / "frames" / f"{i:06d}.png").read_bytes()
        assert ours == (tmp_path / "again" / f"{i:06d}.png").read_bytes()
        assert np.array_equal(np.asarray(Image.open(tmp_path / "frames" / f"{i:06d}.png")),
                              np.asarray(Image.open(tmp_path / f"one{i}.png")))
    assert not list(tmp_path.glob(".*part*"))


def test_clips_are_decoded_by_slices_never_by_frames(tmp_path):
    """What keeps the output deterministic (frame threads made it differ run to run, and
    the run-to-run test below cannot catch a race every time)."""
    from ganctl.infer.video import open_clip

    with open_clip(make_clip(tmp_path / "clip.mp4", frames=2)) as inp:
        assert inp.streams.video[0].thread_type.name == "SLICE"


@pytest.mark.slow  # two fresh processes
def test_the_same_clip_gives_the_same_file_run_to_run(tmp_path):
    import subprocess
    import sys

    clip = make_clip(tmp_path / "clip.mp4", frames=8)
    for name in ("a.mp4", "b.mp4"):  # fresh processes: what a user runs twice
        subprocess.run([sys.executable, "-m", "ganctl", "upscale", str(clip), "-o",
                        str(tmp_path / name)], check=True, capture_output=True)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


@pytest.mark.slow  # trains a model first
def test_translate_a_cut_of_a_clip_and_a_folder_of_frames_into_a_clip(cli, tmp_path):
    assert cli("train", "pix2pix", "--steps", "1", *TINY).code == 0
    clip = make_clip(tmp_path / "clip.mov", frames=20, size=(48, 32))
    res = cli("translate", "pix2pix", clip, "-o", "cut.mp4", "--start", "0.5", "--duration",
              "1", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["results"][0]["frames"] == 10
    assert len(decoded_frames(tmp_path / "cut.mp4")) == 10
    # the cut's audio: the packets of those seconds, moved to start at 0
    with av.open(str(tmp_path / "cut.mp4")) as c:
        first = next(p for p in c.demux(c.streams.audio[0]) if p.dts is not None)
        assert abs(float(first.pts * first.time_base)) < 0.1

    (tmp_path / "seq").mkdir()
    for i, frame in enumerate(decoded_frames(clip)[:6]):
        frame.save(tmp_path / "seq" / f"{i:03d}.png")
    res = cli("translate", "pix2pix", "seq", "-o", "seq.webm", "--fps", "12", "--json")
    assert res.code == 0, res.err
    with av.open(str(tmp_path / "seq.webm")) as c:
        assert c.streams.video[0].average_rate == 12
    assert len(decoded_frames(tmp_path / "seq.webm")) == 6


def test_a_phone_clip_keeps_its_rotation(cli, tmp_path):
    clip = make_clip(tmp_path / "phone.mp4", frames=3, rotation=90)
    res = cli("upscale", clip, "-o", "big.mp4", "--json")
    assert res.code == 0 and json.loads(res.out)["results"][0]["rotation"] == 90
    with av.open(str(tmp_path / "big.mp4")) as c:
        assert next(c.decode(video=0)).rotation == 90


def test_an_undecodable_frame_is_skipped_and_named(cli, tmp_path):
    clip = make_clip(tmp_path / "mj.mkv", frames=10, audio=False, codec="mjpeg",
                     pix_fmt="yuvj420p")
    data = bytearray(clip.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xd8"]
    end = data.index(b"\xff\xd9", starts[5])
    data[starts[5]:end + 2] = bytes(end + 2 - starts[5])  # frame 6's JPEG wiped
    clip.write_bytes(data)
    res = cli("upscale", clip, "-o", "out/", "--json")
    assert res.code == 0, res.err
    row = json.loads(res.out)["results"][0]
    assert row["frames"] == 9 and row["failed_frames"] == [6]


def test_bad_video_inputs_and_options_are_one_line_errors(cli, tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all")
    res = cli("upscale", "junk.mp4", "-o", "x.mp4")
    assert res.code == 1 and "junk.mp4: not a readable video" in res.err
    assert "Traceback" not in res.err and not (tmp_path / "x.mp4").exists()
    clip = make_clip(tmp_path / "clip.mp4", frames=4)
    res = cli("upscale", clip, "-o", "x.webm")  # AAC cannot go into WebM
    assert res.code == 1 and "aac audio cannot go into a .webm file" in res.err
    assert not list(tmp_path.glob("*.webm")) and not list(tmp_path.glob(".*part*"))
    Image.new("RGB", (16, 16)).save(tmp_path / "a.png")
    for args, words in [((clip, "-o", "-"), "not to stdout"),
                        (("a.png", "--start", "1"), "cut a video input"),
                        ((clip, "-o", "y.mp4", "--fps", "5"), "keeps its own rate"),
                        ((clip, "a.png", "-o", "d/"), "separate commands"),
                        ((clip, "-o", "y.flv"), "a video is written as")]:
        res = cli("upscale", *args)
        assert res.code in (1, 2) and words in res.err, (args, res.err)
    res = cli("upscale", clip, clip, "-o", "two/", "--json")  # several clips into a folder
    assert res.code == 0 and len(json.loads(res.out)["results"]) == 2


def test_an_interrupted_clip_leaves_no_file(tmp_path):
    from ganctl.infer.video import translate_video

    clip = make_clip(tmp_path / "clip.mp4", frames=20)
    calls = []

    def fn(images):
        calls.append(len(images))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return images

    with pytest.raises(KeyboardInterrupt):
        translate_video(clip, str(tmp_path / "out.mp4"), fn, batch=4)
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".*part*"))
