"""The bad-input corpus through the dataset readers and every image-in verb: each case is
handled right or reported in one line, the batch goes on, the exit code tells."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from ganctl.data.images import decode_all, list_images
from tests.corpus import write_corpus

FOLDER_NOT_LISTED = {"folder.png"}  # a directory is skipped by folder listing itself


@pytest.fixture
def corpus(tmp_path):
    return tmp_path / "corpus", write_corpus(tmp_path / "corpus")


def test_dataset_reader_keeps_the_good_and_reports_the_bad(corpus):
    folder, expected = corpus
    files = list_images(folder, recursive=False)
    decoded = decode_all(files, (16, 16), 3)
    good = {p.name for p in decoded.paths}
    assert good == {n for n, ok in expected.items() if ok}
    assert len(decoded.bad) == sum(1 for n, ok in expected.items() if not ok) - len(
        FOLDER_NOT_LISTED)
    assert any("decompression bomb" in b for b in decoded.bad)
    assert decoded.array.shape == (len(good), 3, 16, 16)


def check_batch(res, expected, out_dir=None):
    assert res.code == 1, res.err  # something failed, and it says so
    assert "Traceback" not in res.err
    doc = json.loads(res.out)
    n_good = sum(1 for ok in expected.values() if ok)
    n_bad = sum(1 for ok in expected.values() if not ok) - len(FOLDER_NOT_LISTED)
    assert (doc.get("processed", doc.get("images")), doc["failed"]) == (n_good, n_bad)
    return doc


@pytest.mark.parametrize("verb", ["upscale", "translate"])
@pytest.mark.slow  # 1.8 s on a 2-core EPYC: the full suite only
def test_image_verbs_over_the_corpus(cli, corpus, tmp_path, verb):
    folder, expected = corpus
    if verb == "upscale":
        args = ["train", "sneakers", "--stage", "2", "--steps", "1", "--publish", "always",
                "--set", "batch_size=2",
                "n_blocks=1", "width=8", "content=pixel"]
        run = ["upscale", str(folder), "-o", "out/", "--json", "--tile", "64"]
    else:
        args = ["train", "horse2zebra", "--data", "synthetic", "--steps", "1", "--publish",
                "always", "--set",
                "image_size=32", "n_blocks=1", "ngf=4", "ndf=4", "workers=0"]
        run = ["translate", "horse2zebra", str(folder), "-o", "out/", "--json"]
    assert cli(*args).code == 0
    doc = check_batch(cli(*run), expected)
    sizes = {r["input"].rsplit("/", 1)[-1]: r for r in doc["results"] if "output" in r}
    exif = sizes["exif_rotated.jpg"]
    assert exif["size_in"] == [12, 24]  # upright per EXIF
    scale = 4 if verb == "upscale" else 1
    assert exif["size_out"] == [12 * scale, 24 * scale]
    assert sizes["wide_10000x3.png"]["size_out"] == [10000 * scale, 3 * scale]
    assert Image.open(sizes["tiny_1x1.png"]["output"]).size == (scale, scale)


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_detect_leaks_over_the_corpus(cli, corpus):
    folder, expected = corpus
    assert cli("train", "leaks", "--data", "synthetic", "--steps", "2", "--set",
               "image_size=32", "width=8", "latent=8", "batch_size=16").code == 0
    doc = check_batch(cli("detect-leaks", str(folder), "--json"), expected)
    assert all("score" in r for r in doc["results"] if "error" not in r)


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_sample_to_a_path_that_cannot_be_written(cli, tmp_path):
    assert cli("train", "sneakers", "--steps", "1", "--set", "batch_size=4").code == 0
    (tmp_path / "blocker").write_text("a file where a folder should be")
    res = cli("sample", "sneakers", "-n", "2", "-o", "blocker/grid.png")
    assert res.code == 1 and "cannot write blocker/grid.png" in res.err
    assert "Traceback" not in res.err


@pytest.mark.slow  # 1.6 s on a 2-core EPYC: the full suite only
def test_training_on_the_corpus_folder_keeps_going(cli, corpus):
    folder, expected = corpus
    res = cli("train", "sneakers", "--data", str(folder), "--steps", "1", "--set",
              "batch_size=2", "--no-publish")
    assert res.code == 0, res.err
    n_bad = sum(1 for ok in expected.values() if not ok) - len(FOLDER_NOT_LISTED)
    assert f"skipped {n_bad} unreadable image(s)" in res.err


def three_images(folder):
    folder.mkdir()
    for name in ("a", "b", "c"):
        Image.new("RGB", (8, 8), (10, 20, 30)).save(folder / f"{name}.png")
    return folder


def test_an_unreadable_file_is_reported_and_the_rest_processed(cli, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    folder = three_images(tmp_path / "in")
    (folder / "b.png").chmod(0)
    if os.geteuid() == 0:  # root reads mode-000 files: make the read fail as it would
        real = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda p: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if p.name == "b.png" else real(p))
    res = cli("upscale", str(folder), "-o", "out/", "--json")
    assert res.code == 1 and "b.png: permission denied" in res.err
    assert json.loads(res.out)["processed"] == 2


def test_a_file_that_disappears_mid_run_is_reported(cli, tmp_path, monkeypatch):
    from ganctl.infer import io as infer_io

    folder = three_images(tmp_path / "in")
    real = infer_io.expand_inputs

    def then_delete(items):
        found = real(items)
        (folder / "a.png").unlink()  # listed, then gone before it is read
        return found

    monkeypatch.setattr(infer_io, "expand_inputs", then_delete)
    res = cli("upscale", str(folder), "-o", "out/", "--json")
    assert res.code == 1 and "a.png: no such file" in res.err and "Traceback" not in res.err
    assert json.loads(res.out)["processed"] == 2


def test_undecodable_name_bytes_are_printed_as_escapes(cli, tmp_path):
    import os

    folder = three_images(tmp_path / "in")
    with open(os.fsencode(folder) + b"/bad_\xff.png", "wb") as f:
        f.write(b"not a picture")
    res = cli("upscale", str(folder), "-o", "out/")
    assert res.code == 1 and "bad_\\xff.png: not an image format" in res.err


def test_a_dataset_of_one_image(cli, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    Image.new("RGB", (28, 28), (200, 200, 200)).save(folder / "only.png")
    res = cli("train", "sneakers", "--data", str(folder), "--steps", "2", "--no-publish")
    assert res.code == 2 and "needs at least 2 images per batch" in res.err  # batch norm
    (folder / "train").mkdir()
    (folder / "only.png").rename(folder / "train" / "only.png")
    res = cli("train", "leaks", "--data", str(folder), "--steps", "1", "--no-publish")
    assert res.code == 1 and "leaks needs at least 2" in res.err


@pytest.mark.slow
def test_a_folder_of_10000_tiny_images_trains(cli, tmp_path):
    import io

    folder = tmp_path / "many"
    folder.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (90, 90, 90)).save(buf, format="PNG")
    for i in range(10_000):
        (folder / f"{i:05d}.png").write_bytes(buf.getvalue())
    res = cli("train", "sneakers", "--data", str(folder), "--steps", "1", "--no-publish",
              "--json", "--set", "batch_size=16")
    assert res.code == 0, res.err
    assert json.loads(res.out)["step"] == 1 and "(10000 images" in res.err


@pytest.mark.parametrize("args, message", [
    (["--set", "loss=hinge\nrm -rf /"], "--set expects key=value, got 'rm'"),
    (["--set", "batch_size=16\n"], None),  # a trailing newline is whitespace: accepted
    (["--config", "."], "cannot read config file .: Is a directory"),
])
def test_bad_set_values_and_config_paths(cli, args, message):
    res = cli("train", "sneakers", "--dry-run", *args)
    if message is None:
        assert res.code == 0, res.err
    else:
        assert res.code == 2 and message in res.err and "internal error" not in res.err


@pytest.mark.parametrize("text, message", [
    ('lr = "fast"', "lr"), ("batch_size = 1.5", "batch_size"), ("ema = true", "ema"),
    ("[nested]\nlr = 1", "nested"), ("lr = 1e-3\nlr = 2e-3", "cannot parse"),
])
def test_config_files_with_wrong_types(cli, tmp_path, text, message):
    (tmp_path / "c.toml").write_text(text)
    res = cli("train", "sneakers", "--dry-run", "--config", "c.toml")
    assert res.code == 2 and message in res.err and "internal error" not in res.err


@pytest.mark.slow  # 2.2 s on a 2-core EPYC: the full suite only
def test_a_checkpoint_truncated_anywhere_is_one_line(cli, tmp_path):
    from ganctl import checkpoint
    from ganctl.errors import GanctlError

    assert cli("train", "sneakers", "--steps", "1", "--set", "batch_size=4").code == 0
    whole = next(tmp_path.glob("runs/*/*/weights.pt")).read_bytes()
    for tenth in range(10):
        cut = tmp_path / f"cut{tenth}.pt"
        cut.write_bytes(whole[:len(whole) * tenth // 10])
        with pytest.raises(GanctlError):
            checkpoint.load(cut)
    res = cli("sample", "sneakers", "--weights", str(tmp_path / "cut5.pt"), "-o", "g.png")
    assert res.code == 1 and "cannot read checkpoint" in res.err
    assert res.err.count("\n") == 1 and not (tmp_path / "g.png").exists()
