"""Overhead of the shadow mirror proxy: calls through it vs direct calls to the primary.

The primary is the real legacy service (and the candidate the real engine),
started by ``stack.services.Stack`` on 127.0.0.1; with ``--fake`` (or when the
stack cannot start) both are small aiohttp server processes instead. The
proxy runs in its own process (``python -m shadow.cli proxy``) so it does not
share an interpreter with the load generator.

Two measures, each interleaved in blocks (direct, proxy, direct, ...) so drift
on a shared machine hits both sides alike:

- latency: one request at a time, p50/p90/p99 direct and through the proxy;
  the proxy runs twice: "hop only" (every mirror copy dropped: the cost of
  the extra hop) and "proxy + mirror" (the candidate gets every request: on
  one machine its work competes with the primary's for the same cores);
- throughput: ``--concurrency`` requests in flight, requests per second.

Requests are ``GET /v1/payments/{id}`` of a payment created beforehand through
the proxy (a real read through the service's cache); the proxy mirrors each one
to the candidate's own copy of the payment.

    .venv/bin/python benchmarks/shadow_overhead.py --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shadow.capture import basic_auth  # noqa: E402  (after the path set-up above)
from stack.services import Stack, StackConfig  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve_fake(port: int) -> None:
    """A minimal payment read/create server (``--serve-fake PORT``), one process."""

    async def read(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"], "object": "payment",
                                  "status": "succeeded", "amount": 100})

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"id": "pay_0", "object": "payment"}, status=201)

    app = web.Application()
    app.router.add_get("/v1/payments/{id}", read)
    app.router.add_post("/v1/payments", create)
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


def wait_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {HOST}:{port}")


@contextlib.contextmanager
def process(argv: list[str], port: int) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, *argv], cwd=REPO, stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def fake_pair() -> Iterator[tuple[str, str, str, str]]:
    """Primary and candidate as two small aiohttp server processes."""
    me = str(Path(__file__).resolve())
    p1, p2 = free_port(), free_port()
    with process([me, "--serve-fake", str(p1)], p1) as primary, \
            process([me, "--serve-fake", str(p2)], p2) as candidate:
        yield primary, candidate, "key_fake", "fake aiohttp servers (one process each)"


@contextlib.contextmanager
def real_pair(workers: int) -> Iterator[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = StackConfig(
            log_dir=Path(tmp) / "logs", workers=workers, db_pool_size=4, merchants=1,
            gateway_profile="instant",
            database_url=os.environ.get("PAYBENCH_DATABASE_URL",
                                        "postgresql://root@127.0.0.1:5432/test"),
            redis_url=os.environ.get("PAYBENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        )
        with Stack(cfg) as stack:
            key = stack.merchants["legacy"][0].api_key
            yield (stack.urls["legacy"], stack.urls["engine"], key,
                   f"real legacy ({workers} sync workers) and engine")


def proxy_process(
    primary: str, candidate: str, capture: Path, max_pending: int
) -> contextlib.AbstractContextManager[str]:
    """The proxy CLI in its own process; ``max_pending=0`` drops every mirror copy."""
    port = free_port()
    return process(["-m", "shadow.cli", "proxy", "--primary", primary, "--candidate", candidate,
                    "--listen", f"{HOST}:{port}", "--capture", str(capture),
                    "--max-pending", str(max_pending), "--allow-writes"], port)


async def create_payment(url: str, key: str) -> str:
    auth = {"Authorization": basic_auth(key)}
    body = {"order_id": f"bench-{time.time_ns()}", "amount": 10000, "currency": "INR",
            "gateway": "juspay", "payment_method": "card", "confirm": True}
    async with aiohttp.ClientSession() as s, s.post(f"{url}/v1/payments", json=body,
                                                    headers=auth) as resp:
        data = await resp.json()
        return str(data["id"])


async def one_at_a_time(session: aiohttp.ClientSession, url: str, n: int,
                        headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        async with session.get(url, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status} from {url}")
        out.append((time.perf_counter() - started) * 1000)
    return out


async def concurrent(session: aiohttp.ClientSession, url: str, n: int, concurrency: int,
                     headers: dict[str, str]) -> tuple[int, float]:
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.get(url, headers=headers) as resp:
                await resp.read()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(targets: dict[str, str], key: str, pay_id: str, *, requests: int,
                  concurrency: int, blocks: int) -> None:
    headers = {"Authorization": basic_auth(key)}
    path = f"/v1/payments/{pay_id}"
    per_block = max(1, requests // blocks)
    lat: dict[str, list[float]] = {name: [] for name in targets}
    thr: dict[str, list[float]] = {name: [] for name in targets}
    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        for base in targets.values():  # warm-up: connections, caches, imports
            await one_at_a_time(session, base + path, 20, headers)
        for _ in range(blocks):
            for name, base in targets.items():
                lat[name] += await one_at_a_time(session, base + path, per_block, headers)
        for _ in range(blocks):
            for name, base in targets.items():
                n, elapsed = await concurrent(session, base + path, per_block * 2,
                                              concurrency, headers)
                thr[name].append(n / elapsed)
    print(f"per target: {per_block * blocks} sequential requests for latency, "
          f"{blocks} x {per_block * 2} at concurrency {concurrency} for throughput")
    print(f"{'':>16} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name in targets:
        print(f"{name:>16} {statistics.median(lat[name]):8.3f} {pct(lat[name], 0.9):8.3f} "
              f"{pct(lat[name], 0.99):8.3f} {statistics.median(thr[name]):8.1f}")
    base_p50 = statistics.median(lat["direct"])
    base_thr = statistics.median(thr["direct"])
    for name in list(targets)[1:]:
        print(f"{name}: added p50 {statistics.median(lat[name]) - base_p50:+.3f} ms, "
              f"throughput {statistics.median(thr[name]) / base_thr:.2f}x of direct")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per side and measure")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="legacy/engine workers")
    parser.add_argument("--fake", action="store_true", help="use small test servers")
    parser.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return 0
    if args.requests > 20_000:
        parser.error("--requests is capped at 20000")
    pair = fake_pair() if args.fake else real_pair(args.workers)
    with pair as (primary, candidate, key, what), tempfile.TemporaryDirectory() as tmp:
        print(f"primary/candidate: {what}")
        hop = proxy_process(primary, candidate, Path(tmp) / "hop.jsonl", 0)
        full = proxy_process(primary, candidate, Path(tmp) / "capture.jsonl", 5000)
        with hop as hop_url, full as full_url:
            # Created through the mirroring proxy so the candidate has its own copy to read.
            pay_id = asyncio.run(create_payment(full_url, key))
            targets = {"direct": primary, "proxy hop only": hop_url, "proxy + mirror": full_url}
            asyncio.run(measure(targets, key, pay_id, requests=args.requests,
                                concurrency=args.concurrency, blocks=args.blocks))
            lines = sum(1 for _ in (Path(tmp) / "capture.jsonl").open())
            print(f"the mirroring proxy recorded {lines} exchanges so far ('hop only' drops "
                  "every mirror copy: it measures the extra hop alone)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
