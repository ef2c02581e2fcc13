"""What the Server-Timing header costs: engine throughput at capacity with and without it.

One stack runs the engine twice, same workers and pool size, schema and
Redis prefix of their own, the gateway simulator's ``instant`` profile
(webhooks only for outcomes the reply lacked, as ``engine_vs_pgbench``
does): ``engine`` with the header (``PAYBENCH_SERVER_TIMING=1``, what every
paybench run uses) and ``engine_untimed`` without it. Per trial each is
driven by ``wrk`` at a fixed concurrency (closed model: the service runs at
its capacity) with ``POST /v1/payments`` + ``"confirm": true`` over
keep-alive connections, after an uncounted warm-up; the two alternate
(on, off, then off, on, ...) so the drift of a shared machine falls on both.
It prints each trial's throughput and the engine's CPU ms per request, the
medians, and the ratio untimed / timed (goal: within noise, < 2 %).

First, without any server, the measuring code itself: the engine's effect
loop (``run_async``) driving a create-and-confirm's effects (2 SQL, 2
gateway calls, 1 cache write) on ports that answer at once, with and without
a request being measured, plus writing the header: the CPU the header adds
to one request, free of the machine's noise. Command (about 30 s per
trial)::

    .venv/bin/python benchmarks/server_timing_overhead.py --concurrency 32 \\
        --duration 10 --warmup 3 --trials 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine_vs_pgbench import (  # noqa: E402  (benchmarks/ is this script's directory)
    LoadResult,
    _drive_wrk,
    set_webhooks_only_async,
)

from payments import sql  # noqa: E402
from payments.effects import CachePut, Flow, Query, run_async  # noqa: E402
from payments.gateways.base import GatewayName, HttpRequest, HttpResponse  # noqa: E402
from serving.server_timing import begin, finish, header_value  # noqa: E402
from stack.services import Stack, StackConfig  # noqa: E402
from stack.targets import TargetLaunch, TargetSpec, service_command  # noqa: E402

TIMED, UNTIMED = "engine", "engine_untimed"


# -- the measuring code alone ----------------------------------------------------------------

_CALL = HttpRequest(GatewayName.JUSPAY, "POST", "/orders")
_REPLY = HttpResponse(200, {}, b"{}")


def _create_and_confirm() -> Flow[None]:
    """The effects of one create-and-confirm, in its order."""
    yield Query(sql.PING)
    yield _CALL
    yield _CALL
    yield Query(sql.PING)
    yield CachePut("k", 1, b"{}", 60)


class _InstantPorts:
    async def query(self, q: Query) -> Any:
        return None

    async def cache_get(self, key: str) -> bytes | None:
        return None

    async def cache_put(self, effect: CachePut) -> None:
        return None

    async def http(self, request: HttpRequest) -> HttpResponse:
        return _REPLY


async def _loop_us(n: int, measured: bool) -> float:
    ports = _InstantPorts()
    # CPU time, not wall time: other processes on the machine do not count
    started = time.process_time()
    for _ in range(n):
        if measured:
            times, token = begin()
            await run_async(_create_and_confirm(), ports)
            header_value(times)
            finish(token)
        else:
            await run_async(_create_and_confirm(), ports)
    return (time.process_time() - started) / n * 1e6


def measure_code(n: int = 20_000, rounds: int = 7) -> None:
    """Microseconds per request of the effect loop with and without measuring."""
    off, on = [], []
    for _ in range(rounds):
        off.append(asyncio.run(_loop_us(n, measured=False)))
        on.append(asyncio.run(_loop_us(n, measured=True)))
    off_us, on_us = min(off), min(on)
    print(f"effect loop, 5 effects per request, ports that answer at once "
          f"(CPU time, best of {rounds}):")
    print(f"  not measured {off_us:6.2f} us/request, measured + header {on_us:6.2f} us/request: "
          f"+{on_us - off_us:.2f} us of CPU per request")  # fmt: skip


# -- the engine at capacity ------------------------------------------------------------------


def _untimed_engine(launch: TargetLaunch) -> list[str]:
    # The stack gives every target PAYBENCH_SERVER_TIMING=1; env(1) overrides it for
    # this one and then runs (execs) the engine's usual command line.
    return ["env", "PAYBENCH_SERVER_TIMING=0", *service_command("engine")(launch)]


def check_header(stack: Stack) -> None:
    """Stop unless the timed engine sends the header and the untimed one does not."""
    for target, wanted in ((TIMED, True), (UNTIMED, False)):
        resp = httpx.get(stack.urls[target] + "/ping", timeout=10, trust_env=False)
        if ("server-timing" in resp.headers) != wanted:
            raise SystemExit(f"{target}: Server-Timing {'missing' if wanted else 'present'}")


def cpu_ms(load: LoadResult, role: str) -> float:
    return 1000 * load.cpu_s.get(role, 0.0) / load.requests if load.requests else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("PAYBENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PAYBENCH_REDIS_URL"))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds first")
    parser.add_argument("--trials", type=int, default=3, help="trials per setting")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10, help="DB pool per worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    args = parser.parse_args(argv)
    args.idempotency_keys = False  # what _drive_wrk reads
    if args.concurrency < 1 or args.workers < 1 or args.duration < 1 or args.trials < 1:
        parser.error("--concurrency, --workers, --duration and --trials must be >= 1")
    wrk = shutil.which("wrk")
    if wrk is None:
        parser.error("wrk is not on PATH (apt-get install -y wrk)")
    measure_code()
    log_dir = Path(tempfile.mkdtemp(prefix="server-timing-overhead-"))
    untimed = TargetSpec(UNTIMED, command=_untimed_engine, server="the engine, header off")
    config = StackConfig(
        log_dir=log_dir, database_url=args.database_url, redis_url=args.redis_url,
        targets=(TIMED, UNTIMED), target_specs=(untimed,), workers=args.workers,
        db_pool_size=args.pool_size, gateway_profile="instant", merchants=1,
    )  # fmt: skip
    print(f"\ncpus={os.cpu_count()} concurrency={args.concurrency} workers={args.workers} "
          f"pool={args.pool_size} warmup={args.warmup}s duration={args.duration}s "
          f"trials={args.trials} load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    loads: dict[str, list[LoadResult]] = {TIMED: [], UNTIMED: []}
    with Stack(config) as stack:
        check_header(stack)
        set_webhooks_only_async(stack.gateway_url)
        for n in range(args.trials):
            order = (TIMED, UNTIMED) if n % 2 == 0 else (UNTIMED, TIMED)
            print(f"-- trial {n + 1} of {args.trials}")
            for target in order:
                key = stack.merchants[target][0].api_key
                load = _drive_wrk(wrk, stack.urls[target], key, args, stack)
                loads[target].append(load)
                print(f"  {target:15s} {load.rate:8.1f} create-and-confirm/s ({load.requests} "
                      f"x 201, {load.errors} errors), engine CPU {cpu_ms(load, target):.3f} "
                      f"ms/request, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    shutil.rmtree(log_dir, ignore_errors=True)
    print("\nmedians over trials:")
    rates = {t: statistics.median(x.rate for x in done) for t, done in loads.items()}
    cpus = {t: statistics.median(cpu_ms(x, t) for x in done) for t, done in loads.items()}
    for target in (TIMED, UNTIMED):
        print(f"  {target:15s} {rates[target]:8.1f}/s  engine CPU {cpus[target]:.3f} ms/request "
              f"(trials: {', '.join(f'{x.rate:.1f}' for x in loads[target])})")  # fmt: skip
    # each trial ran the two back to back: its ratio sees the least drift
    paired = [a.rate / b.rate for a, b in zip(loads[TIMED], loads[UNTIMED], strict=True)]
    print(f"  with / without, per trial: {', '.join(f'{r:.3f}' for r in paired)}")
    ratio = rates[TIMED] / rates[UNTIMED]
    print(f"RESULT: throughput with / without the header = {ratio:.3f} "
          f"({100 * (ratio - 1):+.1f} %, trials {100 * (min(paired) - 1):+.1f} % .. "
          f"{100 * (max(paired) - 1):+.1f} %); engine CPU per request "
          f"{1000 * (cpus[TIMED] - cpus[UNTIMED]):+.0f} us")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
