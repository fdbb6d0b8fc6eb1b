"""Checked, resumable downloads with requests.

A file is streamed to ``<name>.part`` (resumed with an HTTP Range request when a partial
file exists, restarted when the server ignores Range), its length and checksum are
verified, and only then is it renamed into place. Mirrors are tried in order; each gets
retries with exponential back-off. HTML where a binary file was expected is an error that
says what came back.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

import requests

from ganctl.console import err, info, warn
from ganctl.errors import GanctlError

CHUNK = 1 << 16
USER_AGENT = "ganctl-download/1"


class DownloadError(GanctlError):
    pass


def offline() -> bool:
    """`ganctl --offline` or GANCTL_OFFLINE=1: never touch the network."""
    return os.environ.get("GANCTL_OFFLINE", "") not in ("", "0")


def offline_why() -> str:
    """Which switch made us offline, for the error line."""
    return "--offline" if os.environ.get("GANCTL_OFFLINE") == "--offline" else \
        "GANCTL_OFFLINE is set"


def refuse_offline(what: str, url: str, fallback: str) -> None:
    """The one-line refusal every download gives under --offline/GANCTL_OFFLINE."""
    if offline():
        raise DownloadError(f"offline ({offline_why()}), and {what} is not here: fetch "
                            f"{url} elsewhere and {fallback}")


def size_text(n: int | None, approximate: bool = False) -> str:
    if n is None:
        return "size unknown"
    if approximate:
        return f"about {n / 1e6:.0f} MB" if n < 1e9 else f"about {n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


class ChecksumMismatch(DownloadError):
    pass


@dataclass
class Fetched:
    path: Path
    url: str
    size: int
    sha256: str
    md5: str


def file_digests(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def looks_like_html(head: bytes) -> str | None:
    """The page title (or a snippet) when `head` is an HTML page, else None."""
    text = head[:4096].decode("utf-8", errors="replace")
    low = text.lstrip().lower()
    if not (low.startswith(("<!doctype html", "<html", "<head", "<?xml")) or "<html" in low[:512]):
        return None
    m = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    return " ".join((m.group(1) if m else text[:80]).split())[:100] or "an HTML page"


def _progress(total: int | None, start: int, label: str):
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    if not err().is_terminal:
        return PlainProgress(total, start, label), 0
    progress = Progress("[bold]{task.description}", BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err(),
                        transient=True)
    task = progress.add_task(label, total=total, completed=start)
    return progress, task


class PlainProgress:
    """A download's progress as a plain line every few seconds, where stderr is no
    terminal (a log file, CI, a notebook's captured stream)."""

    EVERY_S = 5.0

    def __init__(self, total: int | None, start: int, label: str):
        self.total, self.done, self.label = total, start, label
        self.t0 = self.last = monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, _task, n: int) -> None:
        self.done += n
        now = monotonic()
        if now - self.last >= self.EVERY_S:
            self.last = now
            of = f" of {size_text(self.total)}" if self.total else ""
            info(f"{self.label}: {size_text(self.done)}{of} "
                 f"({self.done / 1e6 / max(now - self.t0, 1e-9):.1f} MB/s)")


class MirrorFailed(Exception):
    """This mirror cannot give us the file (retrying it will not help)."""


def _one_attempt(session, url: str, part: Path, timeout, label: str) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
        if r.status_code == 416 and have:  # asked past the end: the .part may be complete
            return
        if 400 <= r.status_code < 500:
            raise MirrorFailed(f"{url}: HTTP {r.status_code}"
                               + (" not found" if r.status_code == 404 else ""))
        r.raise_for_status()  # 5xx: retried
        if have and r.status_code == 206:
            m = re.match(r"bytes (\d+)-", r.headers.get("Content-Range", ""))
            mode = "ab" if m and int(m.group(1)) == have else "wb"
        else:
            mode = "wb"  # 200: the server ignored Range; restart cleanly
        have = have if mode == "ab" else 0
        length = r.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        progress, task = _progress(total, have, label)
        with progress, open(part, mode) as f:
            for chunk in r.iter_content(CHUNK):
                if have == 0 and f.tell() == 0 and (page := looks_like_html(chunk)):
                    raise MirrorFailed(
                        f"{url} returned an HTML page ({page!r}) instead of the file: the "
                        "host may be rate-limiting or the link is dead")
                f.write(chunk)
                progress.advance(task, len(chunk))
        got = part.stat().st_size
        if total is not None and got != total:
            raise requests.ConnectionError(f"connection closed at {got:,} of {total:,} bytes")


def fetch(urls: list[str] | tuple[str, ...], dest: Path, md5: str | None = None,
          sha256: str | None = None, size: int | None = None, retries: int = 4,
          timeout: tuple[float, float] = (10, 60), backoff: float = 1.0,
          fallback: str = "pass --from PATH", what: str | None = None,
          approx_size: int | None = None, sha256_prefix: str | None = None) -> Fetched:
    """Download the first mirror that works to `dest`, verified; resume partial files.
    The one way ganctl reaches the network for files: refused under --offline, announced
    (what, size, destination) before it starts, with a progress bar.

    Connection failures, timeouts, short reads and 5xx answers are retried with
    exponential back-off, resuming from what arrived; 4xx, HTML pages, redirect loops
    and checksum mismatches move on to the next mirror. `sha256_prefix`: the leading hex
    digits of the SHA-256 where only those are published (torchvision's file names).
    """
    dest = Path(dest)
    refuse_offline(what or dest.name, urls[0], fallback)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    errors: list[str] = []
    mismatch = None
    session = requests.Session()
    session.max_redirects = 10
    known = size or head_size(session, urls[0])
    have = f"; resuming from {size_text(part.stat().st_size)}" if part.exists() else ""
    info(f"downloading {what or dest.name} ({size_text(known or approx_size, not known)}) "
         f"from {urls[0]} to {dest}{have}")
    for url in urls:
        for attempt in range(retries + 1):
            try:
                _one_attempt(session, url, part, timeout, dest.name)
                return _verify_and_place(part, dest, url, md5, sha256, size, sha256_prefix)
            except MirrorFailed as e:
                part.unlink(missing_ok=True)
                errors.append(str(e))
                break
            except ChecksumMismatch as e:
                errors.append(str(e))
                mismatch = e
                break
            except requests.TooManyRedirects:
                errors.append(f"{url}: redirect loop")
                break
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                errors.append(f"{url}: connection failed ({_short(e)})")
                if "NameResolutionError" in str(e) or "Name or service" in str(e):
                    break  # no DNS: offline, or a dead host; retrying will not help
            except requests.Timeout:
                errors.append(f"{url}: timed out")
            except requests.HTTPError as e:
                code = e.response.status_code if e.response is not None else "?"
                errors.append(f"{url}: server error {code}")
            if attempt < retries:
                delay = backoff * 2**attempt
                warn(f"{dest.name}: {errors[-1]}; retrying in {delay:g} s "
                     f"({attempt + 1}/{retries})")
                time.sleep(delay)
    if mismatch is not None and len(urls) == 1:
        raise mismatch
    offline = all("connection failed" in e or "timed out" in e for e in errors)
    hint = (f"; no network? fetch it elsewhere and {fallback}" if offline
            else f"; you can fetch it yourself and {fallback}")
    raise DownloadError(f"could not download {dest.name}: {errors[-1]}{hint}")


def head_size(session, url: str) -> int | None:
    """The Content-Length a HEAD request reports, or None (no answer, no header)."""
    try:
        r = session.head(url, allow_redirects=True, timeout=(5, 10),
                         headers={"User-Agent": USER_AGENT})
        length = r.headers.get("Content-Length") if r.ok else None
        return int(length) if length and length.isdigit() else None
    except requests.RequestException:
        return None


def _short(e: Exception) -> str:
    text = str(e)
    for marker in ("NameResolutionError", "Connection refused", "Connection reset",
                   "connection closed", "Connection broken"):
        if marker in text:
            return marker
    return text.splitlines()[0][:80] if text else type(e).__name__


def _verify_and_place(part: Path, dest: Path, url: str, md5, sha256, size,
                      sha256_prefix: str | None = None) -> Fetched:
    got_size = part.stat().st_size
    got_sha, got_md5 = file_digests(part)
    problem = None
    if size is not None and got_size != size:
        problem = f"size {got_size:,} bytes, expected {size:,}"
    elif md5 and got_md5 != md5:
        problem = f"MD5 {got_md5}, expected {md5}"
    elif sha256 and got_sha != sha256:
        problem = f"SHA-256 {got_sha}, expected {sha256}"
    elif sha256_prefix and not got_sha.startswith(sha256_prefix):
        problem = f"SHA-256 {got_sha}, expected one starting {sha256_prefix}"
    if problem:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(f"{dest.name} from {url} failed verification ({problem}); "
                               "the download was removed")
    part.replace(dest)
    return Fetched(dest, url, got_size, got_sha, got_md5)
