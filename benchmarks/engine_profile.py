"""Where one engine worker and the gateway simulator spend their CPU under create-and-confirm.

Starts the stack ``engine_vs_pgbench`` uses (engine only, 2 workers, the
simulator's ``instant`` profile with webhooks only for outcomes the reply
lacked), drives ``POST /v1/payments`` + ``"confirm": true`` with ``wrk``, and
records the busier engine worker, then the simulator, with py-spy
(``--nonblocking``, 200 Hz, busy samples only) while wrk keeps the load on.
For each process it prints:

- the share of samples by who is responsible (the innermost frame that
  belongs to a known library or to our code decides, as in
  ``sanic_vs_engine.py``), and the CPU ms per request those shares are of
  (measured first, without the profiler, over ``--seconds`` of wrk);
- the functions with the most samples *inclusive* (anywhere on the stack)
  and *self* (the leaf frame), so a cost can be traced to the call that
  causes it.

py-spy counts a thread whenever it is runnable: on a saturated 2-core
machine that includes time waiting for a core, which lands on whatever ran
last (often a socket send that woke another process), so shares are rough.
``engine_flow_cpu.py`` measures CPU time by kind of effect instead.

Command (about 60 s)::

    .venv/bin/python benchmarks/engine_profile.py --seconds 15
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine_vs_pgbench import (  # noqa: E402  (benchmarks/ is this script's directory)
    WRK_SCRIPT,
    _wrk_run,
    cpu_by_role,
    set_webhooks_only_async,
)
from sanic_vs_engine import workers_of  # noqa: E402

from stack.services import Stack, StackConfig  # noqa: E402

_FRAME = re.compile(r"^(.*) \((.+?):\d+\)$")

LOOP = "event loop, its sockets, and stdlib"
CLIENT = "gateway client: aiohttp's or serving/gateway_http + httptools"
SERVER = "aiohttp server (and multidict, yarl)"
# Checked in order: a frame belongs to the first category whose prefixes its file has;
# the innermost frame with a known file decides (C code counts for the Python frame
# above it, so a library's share includes the socket calls it makes).
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("asyncpg (SQL)", ("asyncpg/",)),
    (CLIENT,
     ("aiohttp/client", "aiohttp/connector", "aiohttp/tracing", "aiohttp/cookiejar",
      "aiohttp/payload", "aiohttp/formdata", "aiohappyeyeballs/", "serving/gateway_http.py",
      "httptools/")),
    ("redis.asyncio (cache)", ("redis/",)),
    # the loop's runners: only when no library frame sits inside them (asyncio's own
    # transports are not listed, so a socket send counts for the library that sent)
    (LOOP, ("aiohttp/worker.py", "gunicorn/", "uvloop/", "serving/command.py",
            "engine/__main__.py", "gateway_sim/__main__.py")),
    (SERVER, ("aiohttp/", "multidict/", "yarl/")),
    ("prometheus_client (metrics)", ("prometheus_client/",)),
    ("our code: payments/ (flows, gateway protocols, validation, JSON)", ("payments/",)),
    ("our code: engine/ (handlers, middleware, ports)", ("engine/",)),
    ("our code: gateway_sim/ (handlers, state)", ("gateway_sim/",)),
)


def category_of(frames: list[str]) -> str:
    """The innermost frame that belongs to a known package decides (leaf first)."""
    for frame in reversed(frames):
        found = _FRAME.match(frame)
        path = found.group(2) if found else ""
        path = path.split("site-packages/", 1)[-1].removeprefix(str(ROOT) + "/")
        for name, prefixes in CATEGORIES:
            if path.startswith(prefixes):
                if name == SERVER and any("aiohttp/client" in f for f in frames):
                    return CLIENT  # writers and streams aiohttp's client shares with its server
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
        frames = [f for f in stack_text.split(";") if not f.startswith("process ")]
        counts[category_of(frames)] += int(n)
        total += int(n)
    return counts, total


def _short(frame: str) -> str:
    """``function (file)`` with the file relative to site-packages or the repository."""
    found = _FRAME.match(frame)
    if found is None:
        return frame
    path = found.group(2).split("site-packages/", 1)[-1].removeprefix(str(ROOT) + "/")
    return f"{found.group(1)} ({path})"


def functions(raw: Path) -> tuple[collections.Counter[str], collections.Counter[str], int]:
    """Samples per function, inclusive (once per stack) and self (leaf), and the total."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if not stack_text or not n.isdigit():
            continue
        frames = [_short(f) for f in stack_text.split(";") if not f.startswith("process ")]
        count = int(n)
        total += count
        for name in set(frames):
            inclusive[name] += count
        if frames:
            leaf[frames[-1]] += count
    return inclusive, leaf, total


def record(pid: int, seconds: float, out: Path) -> None:
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    # --nonblocking: sample without pausing the process, so the profile does not slow it
    subprocess.run([py_spy, "record", "--pid", str(pid), "--duration", str(round(seconds)),
                    "--rate", "200", "--format", "raw", "-o", str(out), "--nonblocking"],
                   check=True, capture_output=True)  # fmt: skip


def print_profile(label: str, raw: Path, cpu_ms: float, top: int) -> None:
    counts, total = summarise(raw)
    inclusive, leaf, _ = functions(raw)
    print(f"\n== {label}: {total} busy samples ({raw}); {cpu_ms:.3f} CPU ms per request")
    for name, n in counts.most_common():
        share = n / total
        print(f"  {100 * share:5.1f} %  {cpu_ms * share:6.3f} ms  {name}")
    print(f"  -- top {top} inclusive")
    for name, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f} %  {name}")
    print(f"  -- top {top} self")
    for name, n in leaf.most_common(top):
        print(f"  {100 * n / total:5.1f} %  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("PAYBENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PAYBENCH_REDIS_URL"))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10, help="DB pool per worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--idempotency-keys", action="store_true")
    parser.add_argument("--seconds", type=float, default=15.0, help="py-spy seconds per process")
    parser.add_argument("--top", type=int, default=25, help="functions listed per process")
    parser.add_argument("--out", type=Path, default=Path("runs") / "profile")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        parser.error("wrk is not on PATH (apt-get install -y wrk)")
    log_dir = Path(tempfile.mkdtemp(prefix="engine-profile-"))
    config = StackConfig(
        log_dir=log_dir, database_url=args.database_url, redis_url=args.redis_url,
        targets=("engine",), workers=args.workers, db_pool_size=args.pool_size,
        gateway_profile="instant", merchants=1,
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    try:
        with Stack(config) as stack:
            set_webhooks_only_async(stack.gateway_url)
            url, key = stack.urls["engine"], stack.merchants["engine"][0].api_key
            _wrk_run(wrk, url, script, seconds=3, args=args, api_key=key)  # warm-up
            # CPU per request by role, without a profiler running
            before = cpu_by_role(stack)
            counts = _wrk_run(wrk, url, script, seconds=args.seconds, args=args, api_key=key)
            after = cpu_by_role(stack)
            done = counts["requests"] - counts["status"]
            per = {role: 1000 * (after[role] - before.get(role, 0.0)) / max(done, 1)
                   for role in after}  # fmt: skip
            print(f"{done / args.seconds:.1f} create-and-confirm/s; CPU ms per request: "
                  + ", ".join(f"{role} {ms:.3f}" for role, ms in sorted(per.items())))
            driven = threading.Thread(
                target=_wrk_run, args=(wrk, url, script),
                kwargs={"seconds": 2 * args.seconds + 6, "args": args, "api_key": key},
                daemon=True,
            )  # fmt: skip
            driven.start()
            time.sleep(1.5)
            workers = workers_of(stack, "engine")
            busiest = max(workers, key=lambda w: w.cpu_percent(0.5))
            engine_raw = args.out / "engine_worker.txt"
            record(busiest.pid, args.seconds, engine_raw)
            sim_pid = stack.supervisor.get("gateway_sim").pid
            sim_raw = args.out / "gateway_sim.txt"
            record(sim_pid, args.seconds, sim_raw)
            driven.join()
    finally:
        os.unlink(script)
        shutil.rmtree(log_dir, ignore_errors=True)
    # each worker serves its share of the requests at the service's CPU per request
    print_profile(f"engine worker {busiest.pid} (of {len(workers)})", engine_raw,
                  per.get("engine", 0.0), args.top)  # fmt: skip
    print_profile("gateway simulator", sim_raw, per.get("gateway_sim", 0.0), args.top)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
