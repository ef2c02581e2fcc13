"""Servers for load-generator tests: ``GET /ping`` that stalls once on demand, and the
reference target of known capacity in a process of its own."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def stall_server(*, stall_after_s: float | None = None, stall_s: float = 1.0,
                 skip: int = 0) -> Iterator[str]:
    """Serve ``/ping`` on a free 127.0.0.1 port; ``stall_after_s`` after the first request
    (not counting the first ``skip``) the whole server freezes for ``stall_s`` once (its
    event loop is blocked)."""
    loop = asyncio.new_event_loop()
    port = _free_port()
    ready = threading.Event()
    state = {"armed": stall_after_s is not None, "seen": 0}

    async def ping(request: web.Request) -> web.Response:
        state["seen"] += 1
        if state["armed"] and state["seen"] > skip:
            state["armed"] = False
            assert stall_after_s is not None
            loop.call_later(stall_after_s, time.sleep, stall_s)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/ping", ping)
    runner = web.AppRunner(app, access_log=None)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
        loop.run_until_complete(site.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def reference_server(*, slots: int, service_ms: float) -> Iterator[str]:
    """``python -m loadtests.reference_server`` in its own process (its own GIL and CPU
    time, like a real target); yields its URL and stops it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadtests.reference_server", "--port", "0",
         "--slots", str(slots), "--service-ms", str(service_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"reference server did not start: {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
