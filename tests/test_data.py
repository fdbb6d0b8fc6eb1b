"""Data layer: every layout reader on synthetic data, IDX, corrupt images, empty data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganctl.data import catalog, images, layouts, sources, synthetic
from ganctl.data.batches import BatchStream
from ganctl.data.images import BadImage, decode_all, list_images, open_image
from ganctl.errors import GanctlError, UsageError


def test_sneakers_layout(tmp_path):
    synthetic.write_sneakers(tmp_path, n=6, size=112)
    files = layouts.image_folder(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files][:2] == [
        "data/images/00000.jpg", "data/images/00001.jpg"]
    assert Image.open(files[0]).size == (112, 112)


def test_synthetic_is_deterministic(tmp_path):
    synthetic.write_sneakers(tmp_path / "a", n=3)
    synthetic.write_sneakers(tmp_path / "b", n=3)
    for name in ("00000.jpg", "00002.jpg"):
        a = (tmp_path / "a" / "data" / "images" / name).read_bytes()
        assert a == (tmp_path / "b" / "data" / "images" / name).read_bytes()


def test_paired_layout_splits_a_left_b_right(tmp_path):
    synthetic.write_edges2shoes(tmp_path, n_train=3, n_val=2, size=64)
    pairs = layouts.paired_folder(tmp_path)
    assert len(pairs.train) == 3 and len(pairs.val) == 2
    img = images.read_tensor(pairs.train[0], 3)
    assert img.shape == (3, 64, 128)
    a, b = layouts.split_pair(img)
    assert a.shape == b.shape == (3, 64, 64)
    # A is the edge map: mostly white, B the photo
    assert a.float().mean() > b.float().mean() - 5
    b2, a2 = layouts.split_pair(img, "BtoA")
    assert torch.equal(a2, a) and torch.equal(b2, b)
    # the torchvision fast path decodes what PIL decodes
    assert torch.equal(img, torch.from_numpy(images.to_array(open_image(pairs.train[0]))))


def test_unpaired_layout_and_distinct_domains(tmp_path):
    synthetic.write_unpaired(tmp_path, n_train=4, n_test=2, size=64)
    u = layouts.unpaired_folders(tmp_path)
    assert (len(u.train_a), len(u.train_b), len(u.test_a), len(u.test_b)) == (4, 4, 2, 2)
    # zebras have far more high-frequency contrast than horses
    def hf(p):
        x = np.asarray(open_image(p, 1), dtype=float)
        return np.abs(np.diff(x, axis=1)).mean()
    assert np.mean([hf(p) for p in u.train_b]) > 2 * np.mean([hf(p) for p in u.train_a])
    (tmp_path / "trainB").rename(tmp_path / "elsewhere")
    with pytest.raises(GanctlError, match="lacks trainB/"):
        layouts.unpaired_folders(tmp_path)


def test_celeba_layout_nested_like_kaggle(tmp_path):
    synthetic.write_celeba(tmp_path / "img_align_celeba", n=3)
    files = layouts.celeba(tmp_path)
    assert [f.name for f in files] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert Image.open(files[0]).size == (178, 218)


def test_leaks_layout_and_annotation_problems(tmp_path):
    synthetic.write_leaks(tmp_path, n_train=5, n_proliv=2, n_test=6)
    with open(tmp_path / "test" / "test_annotation.txt", "a") as f:
        f.write("broken line here\nmissing.jpg 1\n")
    leaks = layouts.leaks_folder(tmp_path)
    assert (len(leaks.train), len(leaks.proliv), len(leaks.test)) == (5, 2, 6)
    assert set(leaks.test_labels) <= {0, 1}
    assert len(leaks.bad_lines) == 2
    assert any("missing.jpg" in b for b in leaks.bad_lines)
    w, h = Image.open(leaks.train[0]).size
    assert w > h


def test_idx_reader_round_trip_and_class_filter(tmp_path):
    synthetic.write_fashion_mnist(tmp_path, n_train=50, n_test=20)
    images, labels = layouts.fashion_mnist(tmp_path, "train", classes=(7,))
    assert images.shape == (5, 1, 28, 28) and images.dtype == np.uint8
    assert set(labels) == {7}
    test_images, _ = layouts.fashion_mnist(tmp_path, "test")
    assert len(test_images) == 20
    (tmp_path / "bad-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")
    with pytest.raises(GanctlError):
        layouts.read_idx(tmp_path / "bad-idx3-ubyte")


@pytest.mark.skipif(not catalog.DEBIAN_FASHION_MNIST.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_sneakers():
    images, labels = layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "train", classes=(7,))
    assert images.shape == (6000, 1, 28, 28)
    test, _ = layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "test", classes=(7,))
    assert len(test) == 1000


def write_bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("hello, I am not a picture")
    good = folder / "good.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(good)
    Image.new("RGB", (64, 64), (1, 2, 3)).save(folder / "trunc.jpg")
    data = (folder / "trunc.jpg").read_bytes()
    (folder / "trunc.jpg").write_bytes(data[: len(data) // 2])
    return good


def test_corrupt_images_are_reported_and_skipped(tmp_path):
    write_bad_files(tmp_path / "imgs")
    decoded = decode_all(list_images(tmp_path / "imgs"), (16, 16), 3)
    assert [p.name for p in decoded.paths] == ["good.png"]
    assert decoded.array.shape == (1, 3, 16, 16)
    assert len(decoded.bad) == 3
    reasons = " ".join(decoded.bad)
    assert "empty file" in reasons and "not an image" in reasons and "truncated" in reasons


@pytest.mark.slow  # 1.4 s on a 2-core EPYC: the full suite only
def test_training_on_a_folder_with_bad_files_warns_and_continues(cli, tmp_path):
    folder = tmp_path / "shoes"
    write_bad_files(folder)
    for i in range(5):
        Image.new("RGB", (50, 50), (i * 40, 0, 0)).save(folder / f"ok{i}.png")
    res = cli("train", "sneakers", "--data", str(folder), "--steps", "2", "--set",
              "batch_size=4", "--no-publish")
    assert res.code == 0, res.err
    assert "skipped 3 unreadable image(s)" in res.err


def test_empty_and_missing_datasets_are_clear_errors(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    res = cli("train", "sneakers", "--data", str(tmp_path / "empty"))
    assert res.code == 1 and "no images found" in res.err
    res = cli("train", "sneakers", "--data", "nowhere")
    assert res.code == 2 and "neither a dataset name" in res.err
    res = cli("train", "sneakers", "--data", "horse2zebra")
    assert res.code == 2 and "does not train on 'horse2zebra'" in res.err


def test_catalog_dataset_not_downloaded_names_the_command(monkeypatch):
    monkeypatch.setattr(catalog, "locate", lambda name: None)
    with pytest.raises(GanctlError, match="ganctl download-data sneakers"):
        sources.resolve("sneakers", ("sneakers",), "sneakers")


def test_image_modes_and_exif(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.save(tmp_path / "a.png")
    assert open_image(tmp_path / "a.png").getpixel((0, 0)) == (255, 255, 255)  # on white
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "b.png")
    assert open_image(tmp_path / "b.png", 1).getpixel((0, 0)) == 255
    Image.new("P", (4, 4)).save(tmp_path / "c.png")
    assert open_image(tmp_path / "c.png").mode == "RGB"
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    img.save(tmp_path / "d.jpg", exif=exif)
    assert open_image(tmp_path / "d.jpg").size == (10, 20)
    with pytest.raises(BadImage, match="is a folder"):
        open_image(tmp_path)


def test_batch_stream_is_resumable_and_covers_an_epoch():
    data = sources.ImageTensors(torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1))
    stream = BatchStream(data, 3, seed=1, device=torch.device("cpu"))
    it = iter(stream)
    first = [next(it)[0].flatten().tolist() for _ in range(5)]
    assert len({x for b in first[:3] for x in b}) == 9  # 3 full batches, no repeats
    state = {"epoch": 0, "batch": 2}
    again = BatchStream(data, 3, seed=1, device=torch.device("cpu"))
    again.load_state_dict(state)
    it2 = iter(again)
    assert [next(it2)[0].flatten().tolist() for _ in range(3)] == first[2:]
    with pytest.raises(UsageError):
        sources.resolve("does-not-exist", ("sneakers",), "sneakers")


def test_ranks_take_disjoint_slices_of_each_global_batch():
    data = sources.ImageTensors(torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1))
    cpu = torch.device("cpu")
    plain = iter(BatchStream(data, 6, seed=3, device=cpu))
    ranks = [iter(BatchStream(data, 3, seed=3, device=cpu, rank=r, world=2)) for r in (0, 1)]
    assert BatchStream(data, 3, seed=3, device=cpu, world=2).batches_per_epoch == 3
    for _ in range(3):  # one epoch: rank 0 + rank 1 = the one-process batch of 6
        parts = [next(it)[0].flatten().tolist() for it in ranks]
        assert not set(parts[0]) & set(parts[1])
        assert parts[0] + parts[1] == next(plain)[0].flatten().tolist()


def test_file_datasets_stream_through_persistent_workers(tmp_path):
    synthetic.write_unpaired(tmp_path, n_train=4, n_test=1, size=32)
    from ganctl.plugins.cyclegan import UnpairedImages

    pairs = layouts.unpaired_folders(tmp_path)
    data = UnpairedImages(pairs.train_a, pairs.train_b, 32)
    stream = BatchStream(data, 2, seed=0, device=torch.device("cpu"), workers=2)
    it = iter(stream)
    batches = [next(it) for _ in range(6)]  # three epochs of two batches
    assert all(b[0].shape == (2, 3, 32, 32) and b[0].dtype == torch.uint8 for b in batches)
    assert stream.loader is not None and stream.loader.persistent_workers
    # B partners are re-drawn every epoch, in the workers too
    def partners(epoch_batches):
        return {a.sum().item(): b.sum().item() for batch in epoch_batches
                for a, b in zip(*batch)}

    epochs = [partners(batches[i:i + 2]) for i in (0, 2, 4)]
    assert all(len(p) == 4 for p in epochs)
    assert epochs[0] != epochs[1] or epochs[1] != epochs[2]


def test_loader_workers_are_capped_to_the_usable_cores(tmp_path, capsys, monkeypatch):
    """More workers than CPUs only compete for the cores (and make the DataLoader print
    a warning block): the stream uses at most the CPUs and says so in one line."""
    import warnings

    from ganctl.data import batches
    from ganctl.plugins.cyclegan import UnpairedImages

    synthetic.write_unpaired(tmp_path, n_train=4, n_test=1, size=32)
    pairs = layouts.unpaired_folders(tmp_path)
    monkeypatch.setattr(batches, "usable_cores", lambda: 1)
    stream = BatchStream(UnpairedImages(pairs.train_a, pairs.train_b, 32), 2, seed=0,
                         device=torch.device("cpu"), workers=4)
    assert stream.workers == 1
    assert "1 data loader worker(s) instead of 4" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "excessive worker creation" UserWarning
        next(iter(stream))
