"""The bad-input corpus through the dataset readers and every image-in verb: each case is
handled right or reported in one line, the batch goes on, the exit code tells."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from ganctl.data.images import decode_all
from tests.corpus import write_corpus

FOLDER_NOT_LISTED = {"folder.png"}  # a directory is skipped by folder listing itself


@pytest.fixture
def corpus(tmp_path):
    return tmp_path / "corpus", write_corpus(tmp_path / "corpus")


def test_dataset_reader_keeps_the_good_and_reports_the_bad(corpus):
    folder, expected = corpus
    files = sorted(p for p in folder.iterdir() if p.is_file())
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
def test_image_verbs_over_the_corpus(cli, corpus, tmp_path, verb):
    folder, expected = corpus
    if verb == "upscale":
        args = ["train", "sneakers", "--stage", "2", "--steps", "1", "--set", "batch_size=2",
                "n_blocks=1", "width=8", "content=pixel"]
        run = ["upscale", str(folder), "-o", "out/", "--json", "--tile", "64"]
    else:
        args = ["train", "horse2zebra", "--data", "synthetic", "--steps", "1", "--set",
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


def test_detect_leaks_over_the_corpus(cli, corpus):
    folder, expected = corpus
    assert cli("train", "leaks", "--data", "synthetic", "--steps", "2", "--set",
               "image_size=32", "width=8", "latent=8", "batch_size=16").code == 0
    doc = check_batch(cli("detect-leaks", str(folder), "--json"), expected)
    assert all("score" in r for r in doc["results"] if "error" not in r)


def test_sample_to_a_path_that_cannot_be_written(cli, tmp_path):
    assert cli("train", "sneakers", "--steps", "1", "--set", "batch_size=4").code == 0
    (tmp_path / "blocker").write_text("a file where a folder should be")
    res = cli("sample", "sneakers", "-n", "2", "-o", "blocker/grid.png")
    assert res.code == 1 and "cannot write blocker/grid.png" in res.err
    assert "Traceback" not in res.err


def test_training_on_the_corpus_folder_keeps_going(cli, corpus):
    folder, expected = corpus
    res = cli("train", "sneakers", "--data", str(folder), "--steps", "1", "--set",
              "batch_size=2", "--no-publish")
    assert res.code == 0, res.err
    n_bad = sum(1 for ok in expected.values() if not ok) - len(FOLDER_NOT_LISTED)
    assert f"skipped {n_bad} unreadable image(s)" in res.err
