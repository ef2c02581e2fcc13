"""A target whose capacity is known by construction, to check the harness's figures against.

``slots`` servers each take ``service_ms`` per request, first come first served: an M/D/N
queue whose capacity is exactly ``slots / service_s`` requests per second. The service
times are computed, not slept one after another: a request that arrives at ``a`` takes the
slot that frees first (at ``f``), is served during ``[max(a, f), max(a, f) + S]`` and is
answered when that interval ends. A late timer wake-up therefore delays one response but
never the next slot's start, so the server can never complete more than ``slots / S``
requests in any second, and an idle server answers in ``S`` plus the loop's overhead.

With ``slots = 0`` the server answers at once: a fast endpoint for the open model's
fidelity check.

Routes: ``GET /ping`` (the slotted work; the ``ping`` scenario drives it), ``GET /health``
(always immediate) and ``GET /__stats`` (requests served so far, the configured
capacity). Run it as a process so it never shares a GIL with a load generator::

    python -m loadtests.reference_server --slots 4 --service-ms 50 --port 0

It prints one line, ``reference_server listening on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import signal
import sys
from collections.abc import Sequence

from aiohttp import web


class Slots:
    """The slots' next free times, as a heap of loop-clock seconds."""

    def __init__(self, slots: int, service_s: float) -> None:
        if slots < 0 or service_s < 0:
            raise ValueError("slots and service time must be >= 0")
        self.slots = slots
        self.service_s = service_s
        self._free_at: list[float] = [0.0] * slots
        self.served = 0

    @property
    def capacity_rps(self) -> float | None:
        """Requests per second the slots can complete (None: unbounded)."""
        if self.slots == 0 or self.service_s == 0:
            return None
        return self.slots / self.service_s

    def admit(self, arrival: float) -> float:
        """When the request arriving at ``arrival`` is done (loop-clock seconds)."""
        if self.slots == 0:
            return arrival
        free = heapq.heappop(self._free_at)
        done = max(arrival, free) + self.service_s
        heapq.heappush(self._free_at, done)
        return done


def build_app(slots: Slots) -> web.Application:
    """The reference target's aiohttp application."""

    async def ping(_request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        done = slots.admit(loop.time())
        delay = done - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        slots.served += 1
        return web.Response(status=200, text="pong")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(status=200, text="ok")

    async def stats(_request: web.Request) -> web.Response:
        doc = {"served": slots.served, "slots": slots.slots,
               "service_ms": slots.service_s * 1000.0, "capacity_rps": slots.capacity_rps}
        return web.json_response(doc)

    app = web.Application()
    app.router.add_get("/ping", ping)
    app.router.add_get("/health", health)
    app.router.add_get("/__stats", stats)
    return app


async def serve(host: str, port: int, slots: Slots) -> None:
    """Serve until SIGTERM or SIGINT."""
    runner = web.AppRunner(build_app(slots), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"reference_server listening on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m loadtests.reference_server``."""
    parser = argparse.ArgumentParser(prog="python -m loadtests.reference_server",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slots", type=int, default=4,
                        help="requests served at once (0: answer at once)")
    parser.add_argument("--service-ms", type=float, default=50.0,
                        help="service time of one request in a slot")
    args = parser.parse_args(argv)
    if args.slots < 0 or args.service_ms < 0:
        parser.error("--slots and --service-ms must be >= 0")
    asyncio.run(serve(args.host, args.port, Slots(args.slots, args.service_ms / 1000.0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

