"""Sanic + Tortoise next to the engine: create-and-confirm with wrk, CPU per request, a profile.

One stack runs both services (same workers, pool size per worker, schema
and Redis prefix of their own, the gateway simulator's ``instant`` profile
with webhooks only for outcomes the reply lacked, as ``engine_vs_pgbench``
does). Per trial each target is driven by ``wrk`` with ``POST /v1/payments``
+ ``"confirm": true`` over keep-alive connections, after an uncounted
warm-up; targets alternate (engine, sanic, then sanic, engine, ...). For
each it prints the throughput, CPU ms per request by process role (the
service's own processes, PostgreSQL, Redis, the simulator, wrk) and for the
whole machine, and how wrk's connections were spread over the workers.

With ``--profile`` it then records one Sanic worker (``--profile-targets
sanic,engine``: then the engine's too) with py-spy while wrk
drives the service and sorts the samples (busy CPU only: py-spy leaves out
a thread that waits) by who is responsible: the innermost frame that
belongs to a library or to our code decides, so ``json.dumps`` called by
Tortoise counts as Tortoise and by ``payments`` as ours. Tortoise is split
into query building, model instances and its database client. Command
(about 25 s per trial, plus the profile)::

    .venv/bin/python benchmarks/sanic_vs_engine.py --concurrency 32 --duration 10 \\
        --warmup 3 --trials 3 --profile 15 --profile-targets sanic,engine
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine_vs_pgbench import (  # noqa: E402  (benchmarks/ is this script's directory)
    WRK_SCRIPT,
    LoadResult,
    _drive_wrk,
    _wrk_run,
    set_webhooks_only_async,
)

from stack.services import Stack, StackConfig  # noqa: E402

TARGETS = ("engine", "sanic")
ROLES = ("engine", "sanic", "postgres", "redis", "gateway_sim", "loadgen")


# -- who holds wrk's connections ----------------------------------------------------------


def workers_of(stack: Stack, target: str) -> list[psutil.Process]:
    """The target's worker processes: children of its master listening on its port."""
    port = int(stack.urls[target].rsplit(":", 1)[1])
    out = []
    for child in psutil.Process(stack.supervisor.get(target).pid).children():
        try:
            conns = child.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns):
            out.append(child)
    return out


def connections_per_worker(stack: Stack, target: str) -> list[int]:
    """Established client connections each worker holds (sorted, largest first)."""
    port = int(stack.urls[target].rsplit(":", 1)[1])
    counts = []
    for worker in workers_of(stack, target):
        try:
            conns = worker.net_connections(kind="tcp")
        except psutil.Error:
            continue
        counts.append(sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED
                          and c.laddr.port == port))  # fmt: skip
    return sorted(counts, reverse=True)


@dataclass
class Trial:
    target: str
    load: LoadResult
    spread: list[int] = field(default_factory=list)  # connections per worker, mid-run

    def cpu_ms(self, role: str) -> float:
        return 1000 * self.load.cpu_s.get(role, 0.0) / self.load.requests if self.load.requests \
            else 0.0

    @property
    def machine_ms(self) -> float:
        return 1000 * self.load.machine_cpu_s / self.load.requests if self.load.requests else 0.0


def run_trial(stack: Stack, target: str, args: argparse.Namespace, wrk: str) -> Trial:
    spread: list[int] = []

    def watch() -> None:  # once wrk's connections are open and busy
        time.sleep(args.warmup + min(2.0, args.duration / 2))
        spread.extend(connections_per_worker(stack, target))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    key = stack.merchants[target][0].api_key
    load = _drive_wrk(wrk, stack.urls[target], key, args, stack)
    watcher.join()
    return Trial(target, load, spread)


def report(trial: Trial) -> None:
    load = trial.load
    per = ", ".join(f"{role} {trial.cpu_ms(role):.2f}" for role in ROLES
                    if role in (trial.target, "postgres", "redis", "gateway_sim", "loadgen"))
    print(f"{trial.target:7s} {load.rate:8.1f} create-and-confirm/s  ({load.requests} x 201, "
          f"{load.errors} errors)  connections per worker {trial.spread}")  # fmt: skip
    print(f"        CPU ms per request: {per}; whole machine {trial.machine_ms:.2f}")


# -- the profile --------------------------------------------------------------------------

LOOP = "event loop (polling, socket reads, scheduling) and stdlib"
# Categories, checked in order: a frame belongs to the first whose path prefix its file has.
# py-spy names files relative to their sys.path entry ("tortoise/models.py").
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Tortoise: query building", ("pypika_tortoise/", "tortoise/queryset.py",
                                  "tortoise/expressions.py", "tortoise/query_utils.py",
                                  "tortoise/filters.py", "tortoise/functions.py",
                                  "tortoise/backends/base/executor.py",
                                  "tortoise/backends/base_postgres/executor.py")),
    ("Tortoise: model instances and fields", ("tortoise/models.py", "tortoise/fields/",
                                              "tortoise/converters.py", "tortoise/timezone.py")),
    ("Tortoise: connections and transactions", ("tortoise/",)),
    ("asyncpg (its Cython protocol and the socket writes under it)", ("asyncpg/",)),
    # the loop's runner as the innermost known frame: the loop itself (uvloop's C code
    # for Sanic, asyncio's selector loop in Python for the engine's gunicorn worker)
    (LOOP, ("sanic/server/runners.py", "aiohttp/worker.py", "gunicorn/")),
    ("Sanic (HTTP server, routing, request/response)", ("sanic/", "sanic_routing/",
                                                        "httptools/")),
    ("aiohttp server (the engine)", ("aiohttp/web", "aiohttp/http_parser",
                                     "aiohttp/_http_parser", "aiohttp/base_protocol")),
    ("aiohttp client (gateway calls)", ("aiohttp/", "multidict/", "yarl/", "aiohappyeyeballs/")),
    ("redis.asyncio (cache)", ("redis/",)),
    ("prometheus_client (metrics)", ("prometheus_client/",)),
    ("our code: payments/ (flows, gateways, validation, JSON bodies)", ("payments/",)),
    ("our code: sanic_service/ (driver, handlers, middleware)", ("sanic_service/",)),
    ("our code: engine/ (handlers, middleware, ports)", ("engine/",)),
)
_FRAME = re.compile(r"\((.+?):\d+\)$")


def category_of(stack_frames: list[str]) -> str:
    """The innermost frame that belongs to a known package decides (leaf first)."""
    for frame in reversed(stack_frames):
        found = _FRAME.search(frame)
        path = found.group(1) if found else ""
        path = path.split("site-packages/", 1)[-1].removeprefix(str(ROOT) + "/")
        for name, prefixes in CATEGORIES:
            if path.startswith(prefixes):
                return name
    return LOOP


def summarise(raw: Path) -> tuple[collections.Counter[str], int]:
    """Samples per category from py-spy's raw (collapsed) output: 'f1;f2;...;leaf N'."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if not stack_text or not n.isdigit():
            continue
        frames = stack_text.split(";")
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        counts[category_of(frames)] += int(n)
        total += int(n)
    return counts, total


def profile(stack: Stack, target: str, args: argparse.Namespace, wrk: str, out_dir: Path) -> None:
    """py-spy on the busiest worker of ``target`` while wrk drives it; samples by category."""
    url, key = stack.urls[target], stack.merchants[target][0].api_key
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    try:
        _wrk_run(wrk, url, script, seconds=2, args=args, api_key=key)  # connections settle
        driven = threading.Thread(target=_wrk_run, args=(wrk, url, script),
                                  kwargs={"seconds": args.profile + 3, "args": args,
                                          "api_key": key}, daemon=True)  # fmt: skip
        driven.start()
        time.sleep(1.5)
        busiest = max(workers_of(stack, target), key=lambda w: w.cpu_percent(0.5))
        out_dir.mkdir(parents=True, exist_ok=True)
        raw = out_dir / f"{target}_worker.txt"
        py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        # --nonblocking: sample without pausing the worker, so the profile does not slow it
        subprocess.run([py_spy, "record", "--pid", str(busiest.pid), "--duration",
                        str(round(args.profile)), "--rate", "200", "--format", "raw",
                        "-o", str(raw), "--nonblocking"], check=True, capture_output=True)
        driven.join()
    finally:
        os.unlink(script)
    counts, total = summarise(raw)
    print(f"\npy-spy: {total} samples of busy CPU in {target} worker {busiest.pid} "
          f"over {args.profile} s under wrk ({raw})")
    tortoise = sum(n for name, n in counts.items() if name.startswith("Tortoise"))
    for name, n in counts.most_common():
        print(f"  {100 * n / total:5.1f} %  {name}")
    print(f"  ----- Tortoise altogether: {100 * tortoise / total:.1f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("PAYBENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PAYBENCH_REDIS_URL"))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds first")
    parser.add_argument("--trials", type=int, default=3, help="trials per target")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10, help="DB pool per worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--idempotency-keys", action="store_true")
    parser.add_argument("--profile", type=float, default=0.0,
                        help="seconds of py-spy on one worker under load (0 = none)")
    parser.add_argument("--profile-targets", default="sanic",
                        help="comma list of targets to profile, one after the other")
    parser.add_argument("--profile-out", type=Path, default=Path("runs") / "profile")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.workers < 1 or args.duration < 1 or args.trials < 1:
        parser.error("--concurrency, --workers, --duration and --trials must be >= 1")
    wrk = shutil.which("wrk")
    if wrk is None:
        parser.error("wrk is not on PATH (apt-get install -y wrk)")
    log_dir = Path(tempfile.mkdtemp(prefix="sanic-vs-engine-"))
    config = StackConfig(
        log_dir=log_dir, database_url=args.database_url, redis_url=args.redis_url,
        targets=TARGETS, workers=args.workers, db_pool_size=args.pool_size,
        gateway_profile="instant", merchants=1,
    )  # fmt: skip
    print(f"cpus={os.cpu_count()} concurrency={args.concurrency} workers={args.workers} "
          f"pool={args.pool_size} warmup={args.warmup}s duration={args.duration}s "
          f"trials={args.trials} idempotency_keys={args.idempotency_keys}")  # fmt: skip
    trials: dict[str, list[Trial]] = {t: [] for t in TARGETS}
    with Stack(config) as stack:
        set_webhooks_only_async(stack.gateway_url)
        for n in range(args.trials):
            order = TARGETS if n % 2 == 0 else tuple(reversed(TARGETS))
            print(f"-- trial {n + 1} of {args.trials}")
            for target in order:
                trial = run_trial(stack, target, args, wrk)
                report(trial)
                trials[target].append(trial)
        print("\nmedians over trials:")
        for target, done in trials.items():
            rate = statistics.median(t.load.rate for t in done)
            own = statistics.median(t.cpu_ms(target) for t in done)
            pg = statistics.median(t.cpu_ms("postgres") for t in done)
            machine = statistics.median(t.machine_ms for t in done)
            print(f"  {target:7s} {rate:8.1f}/s  service CPU {own:.2f} ms/request, "
                  f"postgres {pg:.2f}, whole machine {machine:.2f}")
        ratio = (statistics.median(t.load.rate for t in trials["sanic"])
                 / statistics.median(t.load.rate for t in trials["engine"]))  # fmt: skip
        print(f"RESULT: sanic / engine throughput = {ratio:.3f}")
        if args.profile > 0:
            for target in args.profile_targets.split(","):
                profile(stack, target.strip(), args, wrk, args.profile_out)
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
