"""Weights on the Hugging Face Hub: ``hf://OWNER/REPO[@REVISION][/FILE]``.

Downloads go through huggingface_hub's own cache (so its offline mode, tokens and
mirrors apply: ``HF_HUB_OFFLINE=1``, ``HF_TOKEN``, ``HF_ENDPOINT``). Without a FILE the
repository's ``model.safetensors`` is used, or its only ``.pth``/``.pt`` file (a reference
pix2pix/CycleGAN generator as those projects publish them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ganctl import checkpoint
from ganctl.errors import GanctlError, UsageError, needs_extra

PREFIX = "hf://"
DEFAULT_FILE = "model.safetensors"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt")


@dataclass(frozen=True)
class Fetched:
    """A Hub file as downloaded: where it is locally and exactly which bytes it is."""

    path: Path
    url: str
    revision: str  # the commit the file was read at
    sha256: str

    def source(self) -> dict[str, str]:
        return {"url": self.url, "commit": self.revision, "sha256": self.sha256}


def is_hub(spec: str | None) -> bool:
    return bool(spec) and str(spec).startswith(PREFIX)


def parse(spec: str) -> tuple[str, str | None, str | None]:
    """(OWNER/REPO, revision or None, file or None) of an hf:// address."""
    rest = spec[len(PREFIX):]
    parts = rest.split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1].split("@")[0]:
        raise UsageError(f"{spec}: a Hub address is hf://OWNER/REPO[@REVISION][/FILE]")
    owner, name = parts[0], parts[1]
    filename = parts[2] if len(parts) == 3 and parts[2] else None
    revision = None
    if "@" in name:
        name, revision = name.split("@", 1)
        if not revision:
            raise UsageError(f"{spec}: empty revision after @")
    return f"{owner}/{name}", revision, filename


def _hf():
    return needs_extra("huggingface_hub", "hub", "hf:// weights")


def offline() -> bool:
    """ganctl's --offline/GANCTL_OFFLINE, or HF_HUB_OFFLINE as huggingface_hub reads it
    but at call time (it reads it at import)."""
    _hf()
    from huggingface_hub import constants

    from ganctl.data.download import offline as ganctl_offline

    value = os.environ.get("HF_HUB_OFFLINE", "")
    return ganctl_offline() or value.upper() in ("1", "ON", "YES", "TRUE") or \
        constants.HF_HUB_OFFLINE


def offline_note() -> str:
    """" (offline: the switch that says so)", or "" when online."""
    from ganctl.data.download import offline as ganctl_offline
    from ganctl.data.download import offline_why

    if ganctl_offline():
        return f" (offline: {offline_why()})"
    return " (HF_HUB_OFFLINE is set)" if offline() else ""


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT") or None


def fetch(spec: str) -> Fetched:
    """Download (or find in the cache, offline) the weights file an hf:// address names."""
    hf = _hf()
    from huggingface_hub import errors

    repo, revision, filename = parse(spec)
    where = f"{repo}@{revision}" if revision else repo
    try:
        try:
            path = _download(hf, repo, filename or DEFAULT_FILE, revision)
        except errors.EntryNotFoundError as e:
            if filename or isinstance(e, errors.LocalEntryNotFoundError):
                raise
            path = _download(hf, repo, _only_weights_file(hf, repo, revision, spec), revision)
    except errors.LocalEntryNotFoundError:
        raise GanctlError(f"{spec}: not in the local Hub cache and the Hub is not reachable"
                          f"{offline_note()}") from None
    except errors.EntryNotFoundError:
        raise GanctlError(f"{spec}: {where} has no file {filename}") from None
    except errors.RevisionNotFoundError:
        raise GanctlError(f"{spec}: {repo} has no revision {revision}") from None
    except errors.RepositoryNotFoundError:
        raise GanctlError(f"{spec}: no such Hub repository {repo} (or it is private: "
                          "log in with `hf auth login` or set HF_TOKEN)") from None
    except (errors.HfHubHTTPError, OSError) as e:
        raise GanctlError(f"{spec}: cannot download: {str(e).splitlines()[0][:200]}") from None
    path = Path(path)
    return Fetched(path, spec, _commit_of(path) or revision or "", checkpoint.sha256_of(path))


def _download(hf, repo: str, filename: str, revision: str | None) -> str:
    if offline():  # the cache alone: hf_hub_download may still reach the network
        from huggingface_hub import errors

        found = hf.try_to_load_from_cache(repo, filename, revision=revision)
        if isinstance(found, str):
            return found
        raise errors.LocalEntryNotFoundError(f"{repo}/{filename} is not in the Hub cache")
    return hf.hf_hub_download(repo, filename, revision=revision, endpoint=endpoint())


def _only_weights_file(hf, repo: str, revision: str | None, spec: str) -> str:
    """The one weights file of a repository without model.safetensors."""
    files = hf.HfApi(endpoint=endpoint()).list_repo_files(repo, revision=revision)
    found = [f for f in files if f.endswith(WEIGHT_SUFFIXES)]
    if len(found) != 1:
        listed = ", ".join(found[:8]) if found else "none"
        raise GanctlError(f"{spec}: no {DEFAULT_FILE} and {len(found)} weights files "
                          f"({listed}); name one: hf://{repo}/FILE")
    return found[0]


def _commit_of(path: Path) -> str | None:
    """The commit folder a file sits in inside huggingface_hub's cache (snapshots/<sha>/)."""
    parts = path.parts
    if "snapshots" in parts:
        i = parts.index("snapshots")
        if i + 1 < len(parts):
            return parts[i + 1]
    return None


def token() -> str:
    """The Hub token huggingface_hub would use, or how to get one."""
    found = _hf().get_token()
    if not found:
        raise GanctlError("pushing to the Hub needs a token: run `hf auth login` (or "
                          "`huggingface-cli login`), or set HF_TOKEN")
    return found


def push(folder: Path, repo: str, private: bool = False) -> str:
    """Upload a Hub folder (as `models export --format hub` writes it); returns the
    commit's URL."""
    hf = _hf()
    from huggingface_hub import errors

    api = hf.HfApi(endpoint=endpoint(), token=token())
    try:
        api.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(repo_id=repo, folder_path=str(folder), repo_type="model",
                                 commit_message="Upload ganctl weights")
    except (errors.HfHubHTTPError, OSError, ValueError) as e:  # ValueError: a bad card
        raise GanctlError(f"cannot push to {repo}: {str(e).splitlines()[0][:200]}") from None
    return str(getattr(info, "commit_url", info))
