"""`ganctl demo`: a local web page (Gradio) to draw, drop and compare, from the same
weights the CLI uses. Uploads and outputs live in one temp folder, removed at exit."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from ganctl.console import info, warn
from ganctl.errors import needs_extra

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_UPLOAD = "25mb"


def serve(targets: list[str], host: str = "127.0.0.1", port: int = 7860,
          weights: str | None = None, device: str = "cpu", open_browser: bool = True) -> None:
    """Build the page and serve it until Ctrl-C (or SIGTERM): either way the server
    closes and the temp folder goes."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    previous_int = signal.getsignal(signal.SIGINT)
    tmp = Path(tempfile.mkdtemp(prefix="ganctl-demo-"))
    os.environ["GRADIO_TEMP_DIR"] = str(tmp / "uploads")  # read by Gradio at import
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine
    page, served = None, False
    try:
        gr = needs_extra("gradio", "demo", "ganctl demo")
        from ganctl.demo.app import build

        out = tmp / "out"
        out.mkdir()
        if host not in LOCAL_HOSTS:
            warn(f"listening on {host}: anyone who can reach this machine can use the page "
                 "and upload files to it")
        from ganctl.device import resolve

        page = build(gr, targets, out, weights, resolve(device))
        runs = [str(Path(t).resolve()) for t in targets if Path(t).is_dir()]
        info(f"ganctl demo on http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port} "
             "(Ctrl-C stops it)")
        served = True
        with contextlib.redirect_stdout(sys.stderr):  # Gradio's own notes: not on stdout
            page.queue().launch(server_name=host, server_port=port, inbrowser=open_browser,
                                max_file_size=MAX_UPLOAD, allowed_paths=[str(out), *runs],
                                show_error=True, quiet=True, prevent_thread_lock=True)
        # Our own wait, with our own Ctrl-C: the server runs in Gradio's threads, and
        # stopping does not depend on how a Gradio version blocks or handles SIGINT.
        signal.signal(signal.SIGINT, stop)
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        if page is not None:
            page.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if served:
            info("demo stopped")
