"""Starting the sample application under gunicorn for the Vyked shim tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], deadline_s: float = 20) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if httpx.get(base_url + "/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("gunicorn did not become ready")


def start_gunicorn(
    target: str, workers: int, extra_path: Path = HERE
) -> tuple[str, Callable[[], None]]:
    """Serve ``target`` with gunicorn sync workers on a free 127.0.0.1 port.

    The test binds the listening socket itself (port 0) and hands it over as
    ``fd://N``, so no other process can take the port in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    fd = sock.fileno()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"fd://{fd}",
        "--pythonpath",
        f"{extra_path},{REPO}",
        "--graceful-timeout",
        "2",
        "--log-level",
        "warning",
        target,
    ]
    process = subprocess.Popen(command, pass_fds=(fd,), cwd=REPO)
    sock.close()
    base_url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    try:
        _wait_ready(base_url, process)
    except Exception:
        stop()
        raise
    return base_url, stop
