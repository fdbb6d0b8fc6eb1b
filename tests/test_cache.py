"""The decoded-tensor cache: decode once, memory-map afterwards, rebuild when stale."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from ganctl.data import cache, images


def make_folder(root, n=6):
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(
            root / f"{i}.png")
    (root / "broken.png").write_bytes(b"not a png")
    return sorted(root.iterdir())


def counting(monkeypatch):
    calls = []
    real = images.decode_all

    def spy(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(images, "decode_all", spy)
    return calls


def test_second_decode_maps_the_cached_array(tmp_path, monkeypatch, capsys):
    files = make_folder(tmp_path / "imgs")
    calls = counting(monkeypatch)
    first = cache.decode_all(files, (16, 16), 3, mode="pad")
    assert "cached" in capsys.readouterr().err
    second = cache.decode_all(files, (16, 16), 3, mode="pad")
    assert len(calls) == 1
    assert isinstance(second.array, np.memmap) and second.array.shape == (6, 3, 16, 16)
    assert np.array_equal(first.array, second.array)
    assert second.paths == first.paths and len(second.paths) == 6
    assert len(second.bad) == 1 and "broken.png" in second.bad[0]  # still reported
    direct = images.decode_all(files, (16, 16), 3, mode="pad")
    assert np.array_equal(direct.array, second.array)


def test_key_covers_size_mode_and_file_changes(tmp_path, monkeypatch):
    files = make_folder(tmp_path / "imgs")
    calls = counting(monkeypatch)
    cache.decode_all(files, (16, 16), 3, mode="pad")
    cache.decode_all(files, (16, 16), 3, mode="crop")
    cache.decode_all(files, (8, 8), 3, mode="pad")
    cache.decode_all(files, (16, 16), 1, mode="pad")
    assert len(calls) == 4
    Image.new("RGB", (30, 20), "red").save(files[0])  # same name, new content
    st = os.stat(files[0])
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = cache.decode_all(files, (16, 16), 3, mode="pad")
    assert len(calls) == 5
    assert again.array[0, 0].mean() == 255  # red now


def test_a_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    files = make_folder(tmp_path / "imgs")
    calls = counting(monkeypatch)
    cache.decode_all(files, (16, 16), 3)
    (entry,) = cache.root().iterdir()
    npy = entry / "images.npy"
    npy.write_bytes(npy.read_bytes()[:200])  # truncated
    out = cache.decode_all(files, (16, 16), 3)
    assert len(calls) == 2 and out.array.shape == (6, 3, 16, 16)
    (entry / "meta.json").unlink()
    assert cache.decode_all(files, (16, 16), 3).array.shape == (6, 3, 16, 16)
    assert len(calls) == 3


def test_an_unwritable_cache_only_costs_speed(tmp_path, monkeypatch, capsys):
    files = make_folder(tmp_path / "imgs")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setattr(cache, "root", lambda: blocked / "tensors")
    out = cache.decode_all(files, (16, 16), 3)
    assert out.array.shape == (6, 3, 16, 16)
    assert "could not cache decoded images" in capsys.readouterr().err


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_training_twice_decodes_once(cli, tmp_path):
    make_folder(tmp_path / "shoes")
    args = ("train", "sneakers", "--data", str(tmp_path / "shoes"), "--steps", "1",
            "--set", "batch_size=4", "--no-publish")
    first = cli(*args)
    assert first.code == 0, first.err
    assert "cached" in first.err
    second = cli(*args)
    assert second.code == 0 and "cached" not in second.err
