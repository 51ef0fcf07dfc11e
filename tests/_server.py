"""The real page on loopback: ``qa index`` then ``streamlit run app.py`` on a free port.

Shared by the browser test, the load test and ``bench/bench_load.py``; the browser is Debian's chromium,
driven headless by playwright.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(corpus: Path, index: Path, *, build: bool = True,
                     timeout: float = 120) -> Iterator[str]:
    """Serve the page over ``corpus`` and ``index`` on loopback and yield its URL.

    Args:
        build: index ``corpus`` into ``index`` with ``qa index`` first.
        timeout: seconds to wait for the server to listen.

    The server is killed on exit. The model loads in the background after the first page
    view, so the first question may wait for it.
    """
    env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(index)}
    if build:
        subprocess.run([sys.executable, "-m", "qa", "index"], env=env, check=True,
                       capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--server.fileWatcherType", "none"],
        # from the project's folder, so its .streamlit/config.toml applies (no usage
        # statistics, no developer toolbar), as under `make run`
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start on port {port}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=20)
