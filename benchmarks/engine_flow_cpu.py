"""CPU of the engine's create-and-confirm flow in one process, by kind of effect.

A sampling profiler on a saturated 2-core machine counts a worker whenever it
is *runnable*, waiting for a core included, and the wait lands on the frame
that just woke another process (a socket send). This script measures CPU
time instead: it builds the engine's own resources (``engine.app.create_app``
and its clean-up contexts: the asyncpg pool, Redis client, gateway client and
ports) against a stack's PostgreSQL, Redis and gateway simulator (``instant``
profile), drives ``POST /v1/payments`` + ``"confirm": true`` through the
shared flow with ``--concurrency`` tasks (no HTTP server in front) and reads
the process's CPU time per flow. Then it repeats with one kind of effect
answered from a recording of its first real answer instead of performed
(SQL statements, gateway calls, the cache write): the difference is what
that kind of effect costs the engine's process per request, library, event
loop and system calls included. With all three recorded, what is left is the
flows' own Python (validation, gateway requests and replies, JSON bodies).

Command (about 1 minute)::

    .venv/bin/python benchmarks/engine_flow_cpu.py --flows 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine_vs_pgbench import (  # noqa: E402  (benchmarks/ is this script's directory)
    set_webhooks_only_async,
)

from engine.app import create_app  # noqa: E402
from engine.keys import CONTEXT, PORTS  # noqa: E402
from payments.api import ApiRequest, handle, routes  # noqa: E402
from payments.config import ServiceSettings  # noqa: E402
from payments.effects import AsyncPorts, CachePut, Query, run_async  # noqa: E402
from payments.gateways.base import GatewayReply, HttpRequest  # noqa: E402
from payments.gateways.wire import basic_auth  # noqa: E402
from stack.services import Stack, StackConfig  # noqa: E402

KINDS = ("sql", "gateway", "cache")


class Recorded:
    """The engine's ports, with the kinds in ``replay`` answered from their first answer."""

    def __init__(self, ports: AsyncPorts, replay: frozenset[str]) -> None:
        self._ports = ports
        self._replay = replay
        self._seen: dict[Any, Any] = {}

    async def _once(self, kind: str, key: Any, call: Any) -> Any:
        if kind in self._replay and key in self._seen:
            return self._seen[key]
        result = await call()
        self._seen[key] = result
        return result

    async def query(self, q: Query) -> Any:
        return await self._once("sql", q.sql, lambda: self._ports.query(q))

    async def cache_get(self, key: str) -> bytes | None:
        return await self._ports.cache_get(key)

    async def cache_put(self, effect: CachePut) -> None:
        await self._once("cache", "put", lambda: self._ports.cache_put(effect))

    async def http(self, request: HttpRequest) -> GatewayReply:
        reply: GatewayReply = await self._once(
            "gateway", request.path, lambda: self._ports.http(request)
        )
        return reply


async def measure(app: web.Application, api_key: str, args: argparse.Namespace,
                  replay: frozenset[str]) -> float:  # fmt: skip
    """Process CPU microseconds per create-and-confirm flow."""
    ctx = app[CONTEXT]
    ports = Recorded(app[PORTS], replay)
    route = next(r for r in routes() if r.name == "create_payment")
    auth = basic_auth(api_key, "")

    async def one() -> None:
        body = json.dumps({"order_id": f"cpu_{secrets.token_hex(8)}", "amount": 10000,
                           "currency": "INR", "gateway": "juspay", "payment_method": "card",
                           "confirm": True}).encode()  # fmt: skip
        request = ApiRequest("POST", "/v1/payments", {}, {}, auth, None, body)
        result = await run_async(handle(ctx, route, request), ports)
        # a recorded SQL answer repeats the first payment's row: its order id is taken
        if not replay and result.status != 201:
            raise SystemExit(f"create-and-confirm answered {result.status}: {result.body!r}")

    async def worker(n: int) -> None:
        for _ in range(n):
            await one()

    await asyncio.gather(*(one() for _ in range(args.concurrency)))  # warm-up, recordings
    per_task = args.flows // args.concurrency
    started = time.process_time()
    await asyncio.gather(*(worker(per_task) for _ in range(args.concurrency)))
    return 1e6 * (time.process_time() - started) / (per_task * args.concurrency)


async def run(stack: Stack, args: argparse.Namespace) -> None:
    settings = ServiceSettings(
        database_url=stack.database_url, redis_url=stack.redis_url,
        gateway_url=stack.gateway_url, db_schema=stack.schemas["engine"],
        db_pool_size=args.pool_size, redis_prefix=stack.redis_prefixes["engine"],
    )  # fmt: skip
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # opens the engine's resources; no site, so nothing listens
    try:
        variants: list[tuple[str, frozenset[str]]] = [("all effects performed", frozenset())]
        variants += [(f"{kind} recorded", frozenset({kind})) for kind in KINDS]
        variants.append(("all recorded (the flows' own Python)", frozenset(KINDS)))
        results: dict[str, list[float]] = {name: [] for name, _ in variants}
        key = stack.merchants["engine"][0].api_key
        for _ in range(args.rounds):  # interleaved, so drift in the machine hits all alike
            for name, replay in variants:
                results[name].append(await measure(app, key, args, replay))
    finally:
        await runner.cleanup()
    base = statistics.median(results[variants[0][0]])
    print(f"CPU us per create-and-confirm flow (median of {args.rounds} rounds of "
          f"{args.flows} flows, {args.concurrency} at a time; load average "
          f"{os.getloadavg()[0]:.1f}):")  # fmt: skip
    for name, replay in variants:
        med = statistics.median(results[name])
        runs = " ".join(f"{v:6.0f}" for v in results[name])
        cost = f"  -> {min(replay)} cost {base - med:5.0f}" if len(replay) == 1 else ""
        print(f"  {name:38s} {med:6.0f}   ({runs}){cost}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("PAYBENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PAYBENCH_REDIS_URL"))
    parser.add_argument("--flows", type=int, default=3000, help="flows per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="one worker's share of 32")
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the engine's workers run uvloop (asyncio: as they did before)")
    args = parser.parse_args(argv)
    if args.flows < args.concurrency or args.rounds < 1:
        parser.error("--flows must be >= --concurrency, --rounds >= 1")
    log_dir = Path(tempfile.mkdtemp(prefix="engine-flow-cpu-"))
    config = StackConfig(
        log_dir=log_dir, database_url=args.database_url, redis_url=args.redis_url,
        targets=("engine",), workers=1, db_pool_size=args.pool_size,
        gateway_profile="instant", merchants=1,
    )  # fmt: skip
    with Stack(config) as stack:
        # as engine_vs_pgbench: webhooks only for outcomes the reply lacked
        set_webhooks_only_async(stack.gateway_url)
        (uvloop.run if args.loop == "uvloop" else asyncio.run)(run(stack, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
