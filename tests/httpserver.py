"""A small HTTP server for download tests: Range support, and faults on demand."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server:
    """routes[path] = (mode, body); modes: ok, norange, drop_once, html, 404, stall,
    loop, short (announces more bytes than it sends, every time), 503_once (a server
    error on the first request, then ok)."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.dropped: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append((self.path, self.headers.get("Range")))
                mode, body = outer.routes.get(self.path, ("404", b""))
                if mode == "404":
                    self.send_error(404)
                    return
                if mode == "503_once" and self.path not in outer.dropped:
                    outer.dropped.add(self.path)
                    self.send_error(503)
                    return
                if mode == "loop":
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.end_headers()
                    return
                if mode == "html":
                    page = b"<!DOCTYPE html><html><head><title>Quota exceeded</title></head>"
                    self._send(200, page)
                    return
                if mode == "stall":
                    time.sleep(3)
                start = 0
                rng = self.headers.get("Range")
                if rng and mode != "norange":
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                part = body[start:]
                if mode == "short" or (mode == "drop_once" and self.path not in outer.dropped):
                    outer.dropped.add(self.path)
                    self.send_response(206 if start else 200)
                    if start:
                        self.send_header("Content-Range",
                                         f"bytes {start}-{len(body) - 1}/{len(body)}")
                    self.send_header("Content-Length", str(len(part)))
                    self.end_headers()
                    self.wfile.write(part[: len(part) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if start:
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(body) - 1}/{len(body)}")
                    self.send_header("Content-Length", str(len(part)))
                    self.end_headers()
                    self.wfile.write(part)
                    return
                self._send(200, body)

            def _send(self, code, data):
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeouts, HTML checks): expected in tests

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       args=(0.02,), daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.routes[path] = (mode, body)
        return self.url + path

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
