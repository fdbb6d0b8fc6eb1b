"""A local stand-in for the Hugging Face Hub: the endpoints huggingface_hub calls to
download a file (HEAD/GET resolve, with commit and ETag headers), list a repository, and
push a folder (create repo, preupload, commit). Point HF_ENDPOINT at `url`."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import yaml


class Hub:
    def __init__(self):
        # repos[repo][commit] = {path: bytes}; refs[repo][branch or tag] = commit
        self.repos: dict[str, dict[str, dict[str, bytes]]] = {}
        self.refs: dict[str, dict[str, str]] = {}
        self.created: list[dict] = []
        self.cards: list[str] = []  # README.md contents sent for validation
        self.requests: list[tuple[str, str]] = []
        self.tokens: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, code, body=b"", headers=None, error=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if error:
                    self.send_header("X-Error-Code", error)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, obj, code=200):
                self._reply(code, json.dumps(obj).encode(),
                            {"Content-Type": "application/json"})

            def _resolve(self):
                path = unquote(urlparse(self.path).path).lstrip("/")
                owner, name, kind, rev, *rest = path.split("/", 4) + [""] * 4
                repo, file = f"{owner}/{name}", "/".join(rest).strip("/")
                if kind != "resolve":
                    return self._reply(404)
                if repo not in outer.repos:
                    return self._reply(401, error="RepoNotFound")
                commit = outer.commit_of(repo, rev)
                if commit is None:
                    return self._reply(404, error="RevisionNotFound")
                files = outer.repos[repo][commit]
                if file not in files:
                    return self._reply(404, {"X-Repo-Commit": commit}, error="EntryNotFound")
                data = files[file]
                self._reply(200, data, {"X-Repo-Commit": commit,
                                        "ETag": f'"{hashlib.sha256(data).hexdigest()}"'})

            def do_HEAD(self):
                outer.requests.append(("HEAD", self.path))
                self._resolve()

            def do_GET(self):
                outer.requests.append(("GET", self.path))
                outer.tokens.append(self.headers.get("authorization"))
                path = unquote(urlparse(self.path).path)
                if path.startswith("/api/models/") and "/tree/" in path:
                    repo, rev = path[len("/api/models/"):].split("/tree/")
                    rev = rev.split("/")[0]
                    commit = outer.commit_of(repo, rev)
                    if repo not in outer.repos or commit is None:
                        return self._reply(404, error="RepoNotFound")
                    return self._json([{"type": "file", "path": p, "size": len(d),
                                        "oid": hashlib.sha1(d).hexdigest()}
                                       for p, d in outer.repos[repo][commit].items()])
                self._resolve()

            def do_POST(self):
                outer.requests.append(("POST", self.path))
                outer.tokens.append(self.headers.get("authorization"))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlparse(self.path).path
                if path == "/api/repos/create":
                    req = json.loads(body)
                    outer.created.append(req)
                    repo = f"{req.get('organization') or 'user'}/{req['name']}"
                    outer.add(repo, {}) if repo not in outer.repos else None
                    return self._json({"url": f"{outer.url}/{repo}"})
                if path == "/api/validate-yaml":  # the model card's front matter
                    content = json.loads(body)["content"]
                    outer.cards.append(content)
                    try:
                        meta = yaml.safe_load(content.split("---\n")[1])
                        assert isinstance(meta, dict)
                    except (yaml.YAMLError, IndexError, AssertionError) as e:
                        return self._json({"errors": [{"message": str(e)}]}, code=400)
                    return self._json({"errors": [], "warnings": []})
                if "/preupload/" in path:
                    files = json.loads(body)["files"]
                    return self._json({"files": [{"path": f["path"], "uploadMode": "regular",
                                                  "shouldIgnore": False} for f in files]})
                if "/commit/" in path:
                    repo, rev = path[len("/api/models/"):].split("/commit/")
                    files = dict(outer.repos[repo][outer.commit_of(repo, unquote(rev))])
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            v = item["value"]
                            files[v["path"]] = base64.b64decode(v["content"])
                    commit = outer.add(repo, files, unquote(rev))
                    return self._json({"commitUrl": f"{outer.url}/{repo}/commit/{commit}",
                                       "commitOid": commit})
                self._reply(404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def add(self, repo: str, files: dict[str, bytes], ref: str = "main") -> str:
        """A new commit of `repo` holding `files`, which `ref` then points at."""
        commit = hashlib.sha1(json.dumps(
            [repo, ref, len(self.repos.get(repo, {})),
             sorted((p, hashlib.sha256(d).hexdigest()) for p, d in files.items())]
        ).encode()).hexdigest()
        self.repos.setdefault(repo, {})[commit] = dict(files)
        self.refs.setdefault(repo, {})[ref] = commit
        return commit

    def commit_of(self, repo: str, rev: str) -> str | None:
        if rev in self.repos.get(repo, {}):
            return rev
        return self.refs.get(repo, {}).get(rev)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
