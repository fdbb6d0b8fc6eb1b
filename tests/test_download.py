"""download-data against a local HTTP server: resume, faults, checksums, safe extraction,
catalog installs, --force, --verify and --from imports."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from ganctl.data import catalog, install, synthetic
from ganctl.data.download import DownloadError, fetch
from ganctl.data.extract import UnsafeArchive, extract
from tests.httpserver import Server

BODY = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """These tests download from a local server: not offline (conftest sets it)."""
    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_fetch_verifies_and_places(server, tmp_path):
    url = server.add("/f.bin", BODY)
    got = fetch([url], tmp_path / "f.bin", md5=md5(BODY))
    assert (tmp_path / "f.bin").read_bytes() == BODY
    assert got.size == len(BODY) and got.sha256 == hashlib.sha256(BODY).hexdigest()
    assert not (tmp_path / "f.bin.part").exists()


def test_resume_after_the_server_drops_mid_file(server, tmp_path):
    url = server.add("/f.bin", BODY, "drop_once")
    fetch([url], tmp_path / "f.bin", md5=md5(BODY), backoff=0.01)
    assert (tmp_path / "f.bin").read_bytes() == BODY
    ranges = [r for p, r in server.requests if p == "/f.bin"]
    assert ranges == [None, f"bytes={len(BODY) // 2}-"]  # the second request resumed


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    url = server.add("/f.bin", BODY, "norange")
    (tmp_path / "f.bin.part").write_bytes(BODY[:1000])  # an earlier partial download
    fetch([url], tmp_path / "f.bin", md5=md5(BODY))
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_404_falls_through_to_the_next_mirror(server, tmp_path):
    dead = server.add("/gone.bin", b"", "404")
    good = server.add("/f.bin", BODY)
    fetch([dead, good], tmp_path / "f.bin", md5=md5(BODY))
    assert (tmp_path / "f.bin").read_bytes() == BODY
    with pytest.raises(DownloadError, match="404 not found"):
        fetch([dead], tmp_path / "g.bin")


def test_a_server_error_is_retried(server, tmp_path):
    url = server.add("/f.bin", BODY, "503_once")
    fetch([url], tmp_path / "f.bin", md5=md5(BODY), backoff=0.01)
    assert (tmp_path / "f.bin").read_bytes() == BODY and server.count("/f.bin") == 2


def test_a_checksum_mismatch_moves_on_to_the_next_mirror(server, tmp_path):
    bad = server.add("/bad.bin", BODY[::-1])
    good = server.add("/f.bin", BODY)
    got = fetch([bad, good], tmp_path / "f.bin", md5=md5(BODY))
    assert got.url == good and (tmp_path / "f.bin").read_bytes() == BODY
    assert server.count("/bad.bin") == 1  # not retried: the bytes are wrong, not late


def test_a_part_file_left_by_another_process_is_resumed(server, tmp_path):
    url = server.add("/f.bin", BODY)
    (tmp_path / "f.bin.part").write_bytes(BODY[:300_000])  # a killed earlier download
    fetch([url], tmp_path / "f.bin", md5=md5(BODY))
    assert (tmp_path / "f.bin").read_bytes() == BODY
    assert [r for p, r in server.requests if p == "/f.bin"] == ["bytes=300000-"]


def test_a_complete_part_file_answered_416_is_verified_and_placed(server, tmp_path):
    url = server.add("/f.bin", BODY)
    (tmp_path / "f.bin.part").write_bytes(BODY)  # whole, but never renamed into place
    fetch([url], tmp_path / "f.bin", md5=md5(BODY))
    assert (tmp_path / "f.bin").read_bytes() == BODY
    assert not (tmp_path / "f.bin.part").exists()
    (tmp_path / "g.bin.part").write_bytes(BODY[::-1])  # whole length, wrong bytes
    with pytest.raises(DownloadError, match="failed verification"):
        fetch([url], tmp_path / "g.bin", md5=md5(BODY))


def test_checksum_mismatch_removes_the_file(server, tmp_path):
    url = server.add("/f.bin", BODY)
    with pytest.raises(DownloadError, match="failed verification .*MD5"):
        fetch([url], tmp_path / "dl" / "f.bin", md5="0" * 32)
    assert list((tmp_path / "dl").iterdir()) == []


def test_same_size_different_bytes_fail_the_sha256_pin(server, tmp_path):
    url = server.add("/f.bin", BODY[::-1])  # the same length: only the checksum can tell
    with pytest.raises(DownloadError, match="failed verification \\(SHA-256"):
        fetch([url], tmp_path / "dl" / "f.bin", sha256=hashlib.sha256(BODY).hexdigest())
    assert list((tmp_path / "dl").iterdir()) == []


def test_html_instead_of_an_archive_is_named(server, tmp_path):
    url = server.add("/data.zip", b"", "html")
    with pytest.raises(DownloadError, match="HTML page \\('Quota exceeded'\\)"):
        fetch([url], tmp_path / "dl" / "data.zip")
    assert list((tmp_path / "dl").iterdir()) == []


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_redirect_loop_and_stall_and_short_reads(server, tmp_path):
    with pytest.raises(DownloadError, match="redirect loop"):
        fetch([server.add("/loop", b"", "loop")], tmp_path / "a")
    with pytest.raises(DownloadError, match="timed out"):
        fetch([server.add("/slow", BODY, "stall")], tmp_path / "b", retries=1,
              timeout=(1, 0.5), backoff=0.01)
    short = server.add("/short", BODY, "short")
    with pytest.raises(DownloadError, match="connection failed"):
        fetch([short], tmp_path / "c", retries=2, backoff=0.01)
    assert server.count("/short") == 3


def test_offline_is_one_clear_line(cli, monkeypatch):
    entry = catalog.CATALOG["horse2zebra"]
    monkeypatch.setitem(catalog.CATALOG, "horse2zebra", dataclasses.replace(
        entry, urls=("http://ganctl-test.invalid/horse2zebra.zip",)))
    res = cli("download-data", "horse2zebra")
    assert res.code == 1
    lines = res.err.strip().splitlines()
    assert lines[-1].startswith("ganctl: error: could not download horse2zebra.zip: "
                                "http://ganctl-test.invalid/horse2zebra.zip")
    assert "--from PATH" in lines[-1] and "Traceback" not in res.err


# ---- archives in the real layouts -------------------------------------------------------

def tar_of(folder: Path, arcname: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(folder, arcname=arcname)
    return buf.getvalue()


def zip_of(folder: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, prefix + p.relative_to(folder).as_posix())
    return buf.getvalue()


def serve_dataset(monkeypatch, server, name: str, body: bytes, **changes) -> str:
    entry = catalog.CATALOG[name]
    fname = entry.archive_name
    url = server.add(f"/{fname}", body)
    monkeypatch.setitem(catalog.CATALOG, name, dataclasses.replace(
        entry, urls=(url,), **changes))
    return f"/{fname}"


@pytest.mark.slow  # 1.2 s on a 2-core EPYC: the full suite only
def test_install_pix2pix_tar_and_rerun_and_force_and_verify(cli, server, monkeypatch, home,
                                                            tmp_path):
    synthetic.write_edges2shoes(tmp_path / "src", n_train=5, n_val=2, size=32)
    path = serve_dataset(monkeypatch, server, "edges2shoes",
                         tar_of(tmp_path / "src", "edges2shoes"),
                         counts=(("train", 5), ("val", 2)))
    res = cli("download-data", "edges2shoes", "--json")
    assert res.code == 0, res.err
    row = json.loads(res.out)[0]
    target = home / "data" / "edges2shoes"
    assert row["path"] == str(target) and "train 5, val 2" in row["result"]
    assert len(list((target / "train").glob("*.jpg"))) == 5
    assert (target / catalog.MARKER).is_file()
    lock = json.loads((home / "data" / install.LOCK).read_text())
    assert lock["edges2shoes.tar.gz"]["size"] > 0
    assert "pinned SHA-256" in res.err
    # re-run: a no-op, no request
    assert cli("download-data", "edges2shoes").code == 0
    assert server.count(path) == 1
    # training finds it by name
    assert catalog.locate("edges2shoes") == target
    # --force downloads again (the pin still applies)
    assert cli("download-data", "edges2shoes", "--force").code == 0
    assert server.count(path) == 2
    # --verify catches a tampered archive
    assert cli("download-data", "--verify").code == 0
    archive = home / "data" / "downloads" / "edges2shoes.tar.gz"
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")
    res = cli("download-data", "edges2shoes", "--verify")
    assert res.code == 1 and "does not match the SHA-256 pinned" in res.err


def test_a_server_serving_different_bytes_than_pinned_is_caught(cli, server, monkeypatch,
                                                                 home, tmp_path):
    synthetic.write_unpaired(tmp_path / "src", n_train=3, n_test=1, size=32)
    path = serve_dataset(monkeypatch, server, "horse2zebra", zip_of(tmp_path / "src",
                                                                    "horse2zebra/"),
                         counts=())
    assert cli("download-data", "horse2zebra").code == 0
    assert (home / "data" / "horse2zebra" / "trainA").is_dir()
    synthetic.write_unpaired(tmp_path / "src2", n_train=4, n_test=1, size=32)
    server.routes[path] = ("ok", zip_of(tmp_path / "src2", "horse2zebra/"))
    res = cli("download-data", "horse2zebra", "--force")
    assert res.code == 1 and "failed verification (size" in res.err
    assert "pinned in" in res.err
    # the pinned size with other bytes: the SHA-256 pin catches it
    first = zip_of(tmp_path / "src", "horse2zebra/")
    middle = len(first) // 2
    server.routes[path] = ("ok", first[:middle] + bytes([first[middle] ^ 0xFF]) +
                           first[middle + 1:])
    res = cli("download-data", "horse2zebra", "--force")
    assert res.code == 1 and "failed verification (SHA-256" in res.err
    # what was installed before is still there and complete
    assert len(list((home / "data" / "horse2zebra" / "trainA").iterdir())) == 3


def test_wrong_counts_leave_no_dataset_behind(cli, server, monkeypatch, home, tmp_path):
    synthetic.write_unpaired(tmp_path / "src", n_train=3, n_test=1, size=32)
    serve_dataset(monkeypatch, server, "horse2zebra", zip_of(tmp_path / "src", "horse2zebra/"),
                  counts=(("trainA", 1067),))
    res = cli("download-data", "horse2zebra")
    assert res.code == 1 and "trainA/ has 3 images, expected 1067" in res.err
    assert catalog.locate("horse2zebra") is None
    assert not list((home / "data").glob(".tmp-*"))
    # an archive that failed validation is not pinned: a fixed upload is accepted later
    assert "horse2zebra.zip" not in install.read_lock(home / "data")


@pytest.mark.slow  # 1.5 s on a 2-core EPYC: the full suite only
def test_sneakers_zip_layout(cli, server, monkeypatch, home, tmp_path):
    synthetic.write_sneakers(tmp_path / "src", n=4, size=64)
    serve_dataset(monkeypatch, server, "sneakers", zip_of(tmp_path / "src"))
    res = cli("download-data", "sneakers")
    assert res.code == 0, res.err
    assert len(list((home / "data" / "sneakers" / "data" / "images").glob("*.jpg"))) == 4
    res = cli("train", "sneakers", "--data", "sneakers", "--steps", "1", "--set",
              "batch_size=2", "--no-publish")
    assert res.code == 0, res.err


def test_fashion_files_with_published_md5(cli, server, monkeypatch, home, tmp_path):
    synthetic.write_fashion_mnist(tmp_path / "fm", n_train=20, n_test=10)
    files = []
    for p in sorted((tmp_path / "fm").iterdir()):
        server.add(f"/fm/{p.name}", p.read_bytes())
        files.append((p.name, md5(p.read_bytes())))
    entry = catalog.CATALOG["fashion-mnist"]
    monkeypatch.setitem(catalog.CATALOG, "fashion-mnist", dataclasses.replace(
        entry, urls=(server.url + "/fm/",), files=tuple(files), system_paths=()))
    res = cli("download-data", "fashion-mnist")
    assert res.code == 0, res.err
    assert "train 20, test 10" in res.err
    assert (home / "data" / "fashion-mnist" / catalog.MARKER).is_file()


# ---- safe extraction ---------------------------------------------------------------------

def test_zip_slip_and_absolute_paths_are_refused(tmp_path):
    for name in ("../evil.txt", "/abs/evil.txt", "a/../../evil.txt"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("ok.txt", "fine")
            zf.writestr(name, "pwned")
        archive = tmp_path / "bad.zip"
        archive.write_bytes(buf.getvalue())
        with pytest.raises(UnsafeArchive):
            extract(archive, tmp_path / "out")
        assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_members_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    (tmp_path / "l.zip").write_bytes(buf.getvalue())
    with pytest.raises(UnsafeArchive, match="symlink"):
        extract(tmp_path / "l.zip", tmp_path / "out")


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.addfile(member, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["symlink_out", "symlink_abs", "hardlink_out", "device",
                                  "dotdot"])
def test_tar_escapes_are_refused(tmp_path, kind):
    m = tarfile.TarInfo("x")
    if kind == "symlink_out":
        m.type, m.linkname = tarfile.SYMTYPE, "../../outside"
    elif kind == "symlink_abs":
        m.type, m.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink_out":
        m.type, m.linkname = tarfile.LNKTYPE, "../outside"
    elif kind == "device":
        m.type = tarfile.CHRTYPE
    else:
        m.name = "../../x"
    (tmp_path / "t.tar").write_bytes(_tar_with(m))
    with pytest.raises(UnsafeArchive):
        extract(tmp_path / "t.tar", tmp_path / "out")
    assert not (tmp_path / "outside").exists()


def test_tar_symlink_inside_the_target_is_fine(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        f = tarfile.TarInfo("d/file.txt")
        f.size = 2
        tf.addfile(f, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("d/alias.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "file.txt"
        tf.addfile(link)
    (tmp_path / "ok.tar").write_bytes(buf.getvalue())
    extract(tmp_path / "ok.tar", tmp_path / "out")
    assert (tmp_path / "out" / "d" / "alias.txt").read_text() == "hi"


# ---- --from imports ------------------------------------------------------------------------

def test_import_celeba_zip_and_leaks_folder(cli, home, tmp_path):
    synthetic.write_celeba(tmp_path / "celeba" / "img_align_celeba", n=3)
    (tmp_path / "celeba.zip").write_bytes(zip_of(tmp_path / "celeba"))
    res = cli("download-data", "celeba", "--from", str(tmp_path / "celeba.zip"))
    assert res.code == 0, res.err
    assert len(list((home / "data" / "celeba").rglob("*.jpg"))) == 3
    synthetic.write_leaks(tmp_path / "leaks", n_train=4, n_proliv=2, n_test=3)
    res = cli("download-data", "leaks", "--from", str(tmp_path / "leaks"))
    assert res.code == 0 and "train 4, proliv 2, test 3" in res.err
    res = cli("download-data", "leaks", "--from", str(tmp_path / "celeba"))
    assert res.code == 1 and "no train/ folder" in res.err
    assert (home / "data" / "leaks" / "proliv").is_dir()  # the good import is untouched
    res = cli("download-data", "celeba")
    assert res.code == 0 and "already present" in res.err


def test_manual_datasets_explain_how(cli):
    res = cli("download-data", "celeba")
    assert res.code == 1 and "Kaggle (jessicali9530/celeba-dataset)" in res.err
    assert "--from PATH" in res.err
    res = cli("download-data", "--list", "--json")
    rows = {r["name"]: r for r in json.loads(res.out)}
    assert rows["celeba"]["how"] == "--from PATH" and rows["horse2zebra"]["urls"] == [
        catalog.CYCLEGAN_URL.format("horse2zebra")]
    assert cli("download-data", "nope").code == 2
