"""The engine's create-and-confirm throughput next to pgbench running the same SQL.

How close does the engine come to what PostgreSQL alone sustains for the
statements one create-and-confirm request issues? One run on this machine:

1. starts a stack (``stack.services.Stack``) with the engine only, 2 gunicorn
   workers, the gateway simulator's ``instant`` profile, on the PostgreSQL and
   Redis given by ``--database-url`` / ``--redis-url`` (default: the
   PAYBENCH_DATABASE_URL / PAYBENCH_REDIS_URL environment variables, else
   embedded servers);
2. drives ``POST /v1/payments`` with ``"confirm": true`` from a fixed number of
   concurrent aiohttp connections on 127.0.0.1 (closed model), bounded by time
   and request count, with a warm-up that is not counted;
3. provisions a fresh schema on the same PostgreSQL server and runs
   ``pgbench`` at the same concurrency with a script made of the very
   statements of ``payments/sql.py`` the flow issues per request, in the
   flow's order: ``INSERT_PAYMENT``, ``BEGIN_ATTEMPT``, ``SETTLE_ATTEMPT``
   (with ``--idempotency-keys`` also ``IDEMPOTENCY_CLAIM`` first and
   ``IDEMPOTENCY_FINISH`` last). The merchant lookup is cached in each worker,
   so it is not part of a request; ids come from pgbench variables;
4. prints both throughputs and their ratio (goal: engine >= 0.5 x pgbench).

Command (about 40 s per trial)::

    .venv/bin/python benchmarks/engine_vs_pgbench.py --concurrency 32 --duration 10 --warmup 3

On a busy machine add ``--trials 3``: engine and pgbench alternate and the
median ratio is reported, so a burst of other work hits both sides.

The engine's figure includes everything pgbench leaves out: HTTP parsing,
authentication, validation, two gateway calls to the simulator (Juspay
``/orders`` + ``/txns``) and a Redis write per request, and all of it shares
the machine's cores with the load generator, the simulator and PostgreSQL.
pgbench runs after the engine's load, with the stack idle, and its clients
share the cores with PostgreSQL only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from payments import sql  # noqa: E402
from payments.gateways.wire import basic_auth  # noqa: E402
from stack.provision import demo_merchants, drop_target, provision_target  # noqa: E402
from stack.services import Stack, StackConfig  # noqa: E402

MERCHANT_ID = "merchant_1"


# -- the engine ---------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int  # counted (after the warm-up)
    errors: int
    seconds: float
    status_counts: dict[int, int]
    body_bytes: int  # size of one 201 body, for pgbench's idempotency payload
    cpu_s: dict[str, float]  # CPU seconds per role during the counted window


    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def cpu_by_role(stack: Stack) -> dict[str, float]:
    """Cumulative CPU seconds of the stack's processes per role, and of this process."""
    out: dict[str, float] = {"loadgen": sum(psutil.Process().cpu_times()[:2])}
    for role, pid in stack.processes():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[role] = out.get(role, 0.0) + times.user + times.system
    return out


async def _drive(
    url: str, api_key: str, args: argparse.Namespace, stack: Stack
) -> LoadResult:
    concurrency, max_requests, idempotency_keys = (
        args.concurrency, args.requests, args.idempotency_keys
    )
    warmup_s, duration_s = args.warmup, args.duration
    headers = {"Authorization": basic_auth(api_key, ""), "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    counted = errors = 0
    statuses: dict[int, int] = {}
    body_bytes = 0
    started = time.perf_counter()
    measure_from = started + warmup_s
    stop_at = measure_from + duration_s
    measured_end = measure_from

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal counted, errors, body_bytes, measured_end
        while True:
            now = time.perf_counter()
            if now >= stop_at or counted >= max_requests:
                return
            body = {
                "order_id": f"b_{secrets.token_hex(10)}",
                "amount": 10000,
                "currency": "INR",
                "gateway": "juspay",
                "payment_method": "card",
                "confirm": True,
            }
            extra = {"Idempotency-Key": secrets.token_hex(16)} if idempotency_keys else {}
            try:
                async with session.post("/v1/payments", data=json.dumps(body),
                                        headers=extra) as resp:  # fmt: skip
                    payload = await resp.read()
                    status = resp.status
            except aiohttp.ClientError:
                status, payload = 0, b""
            done = time.perf_counter()
            if done < measure_from:
                continue  # warm-up: not counted
            if done > stop_at:
                return
            statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                counted += 1
                body_bytes = len(payload)
            else:
                errors += 1
            measured_end = done

    cpu: list[dict[str, float]] = []

    async def snapshot_at(when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        cpu.append(cpu_by_role(stack))

    async with aiohttp.ClientSession(base_url=url, headers=headers, connector=connector) as s:
        await asyncio.gather(snapshot_at(measure_from),
                             *(worker(s) for _ in range(concurrency)))  # fmt: skip
    cpu.append(cpu_by_role(stack))
    used = {role: cpu[1].get(role, 0.0) - cpu[0].get(role, 0.0) for role in cpu[1]}
    elapsed = max(0.0, min(measured_end, stop_at) - measure_from)
    return LoadResult(counted, errors, elapsed, statuses, body_bytes, used)


def measure_engine(stack: Stack, args: argparse.Namespace) -> LoadResult:
    key = stack.merchants["engine"][0].api_key
    return asyncio.run(_drive(stack.urls["engine"], key, args, stack))


# -- pgbench ------------------------------------------------------------------------------


def _pgbench_sql(statement: str, args: dict[int, str]) -> str:
    """A statement of payments/sql.py with ``$n`` replaced by pgbench expressions."""
    text = re.sub(r"\$(\d+)", lambda m: args[int(m.group(1))], statement)
    return " ".join(text.split()) + ";"


def pgbench_script(idempotency_keys: bool, body_bytes: int) -> str:
    """One create-and-confirm's SQL, in the flow's order, with fresh ids per transaction."""
    pay = "('pay_' || :n)"
    attempt = "('att' || :n)"
    lines = [
        "\\set n random(1, 9000000000000000000)",
        "\\set amount 10000",
    ]
    if idempotency_keys:
        lines.append(_pgbench_sql(sql.IDEMPOTENCY_CLAIM, {
            1: f"'{MERCHANT_ID}'", 2: "('key_' || :n)", 3: "'" + "f" * 64 + "'", 4: "60.0",
        }))  # fmt: skip
    lines.append(_pgbench_sql(sql.INSERT_PAYMENT, {
        1: pay, 2: f"'{MERCHANT_ID}'", 3: "('ord_' || :n)", 4: ":amount", 5: "'INR'",
        6: "'juspay'", 7: "'card'", 8: "NULL", 9: "NULL", 10: "'{}'",
    }))  # fmt: skip
    lines.append(_pgbench_sql(sql.BEGIN_ATTEMPT, {1: pay, 2: f"'{MERCHANT_ID}'", 3: attempt}))
    lines.append(_pgbench_sql(sql.SETTLE_ATTEMPT, {
        1: pay, 2: attempt, 3: "'succeeded'", 4: "('txn_' || :n)", 5: "'CHARGED'",
        6: "NULL", 7: "NULL", 8: "'succeeded'",
    }))  # fmt: skip
    if idempotency_keys:
        lines.append(_pgbench_sql(sql.IDEMPOTENCY_FINISH, {
            1: f"'{MERCHANT_ID}'", 2: "('key_' || :n)", 3: "201",
            4: f"convert_to(repeat('x', {max(body_bytes, 1)}), 'UTF8')",
        }))  # fmt: skip
    return "\n".join(lines) + "\n"


def find_pgbench(given: str | None) -> str:
    candidates = [given] if given else []
    candidates.append(shutil.which("pgbench") or "")
    candidates += sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    for c in candidates:
        if c and Path(c).exists():
            return c
    raise SystemExit("pgbench not found: pass --pgbench PATH")


@dataclass
class PgbenchResult:
    tps: float
    transactions: int
    failed: int
    output: str


def run_pgbench(database_url: str, schema: str, script: str, args: argparse.Namespace,
                pgbench: str) -> PgbenchResult:  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        path = fh.name
    env = {**os.environ, "PGOPTIONS": f"-c search_path={schema}"}

    def command(seconds: float) -> list[str]:
        return [pgbench, "-n", "-M", "prepared", "-c", str(args.concurrency),
                "-j", str(args.pgbench_threads), "-T", str(max(1, round(seconds))),
                "-f", path, database_url]  # fmt: skip

    try:
        if args.warmup > 0:  # same warm-up as the engine, not counted
            subprocess.run(command(args.warmup), env=env, capture_output=True, text=True,
                           check=True)  # fmt: skip
        done = subprocess.run(command(args.duration), env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
    finally:
        os.unlink(path)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{out}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    txns = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None or txns is None:
        raise SystemExit(f"could not read pgbench's output:\n{out}")
    return PgbenchResult(float(tps.group(1)), int(txns.group(1)),
                         int(failed.group(1)) if failed else 0, out)  # fmt: skip


# -- main ---------------------------------------------------------------------------------


def report_engine(engine: LoadResult) -> None:
    print(f"engine:  {engine.rate:9.1f} create-and-confirm/s  "
          f"({engine.requests} x 201 in {engine.seconds:.2f} s, {engine.errors} errors, "
          f"statuses {engine.status_counts})")  # fmt: skip
    if engine.requests:
        per = ", ".join(f"{role} {1000 * cpu / engine.requests:.2f}"
                        for role, cpu in sorted(engine.cpu_s.items()))  # fmt: skip
        print(f"         CPU ms per request: {per}")
        print("         (postgres and redis: every process of the server, other clients "
              "included when the servers are shared)")
        print(f"         machine load average: {os.getloadavg()[0]:.1f} "
              f"(other work on the machine lowers both figures)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("PAYBENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("PAYBENCH_REDIS_URL"))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds first")
    parser.add_argument("--requests", type=int, default=200_000, help="max counted requests")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10, help="DB pool per engine worker")
    parser.add_argument("--idempotency-keys", action="store_true",
                        help="send Idempotency-Key (adds claim and finish to both sides)")
    parser.add_argument("--pgbench", default=None, help="path of pgbench")
    parser.add_argument("--pgbench-threads", type=int, default=2)
    parser.add_argument(
        "--webhooks", choices=("async", "all"), default="async",
        help="async (default): the simulator notifies only outcomes its reply did not carry, "
        "so each measured request runs exactly the SQL of the pgbench script; all: a webhook "
        "per charge as well, which the engine handles in extra requests with extra SQL")
    parser.add_argument("--trials", type=int, default=1,
                        help="engine-then-pgbench rounds; the median ratio is the result")
    args = parser.parse_args(argv)
    pgbench = find_pgbench(args.pgbench)

    log_dir = Path(tempfile.mkdtemp(prefix="engine-vs-pgbench-"))
    config = StackConfig(
        log_dir=log_dir, database_url=args.database_url, redis_url=args.redis_url,
        targets=("engine",), workers=args.workers, db_pool_size=args.pool_size,
        gateway_profile="instant", merchants=1,
    )  # fmt: skip
    print(f"cpus={os.cpu_count()} concurrency={args.concurrency} workers={args.workers} "
          f"pool={args.pool_size} warmup={args.warmup}s duration={args.duration}s "
          f"idempotency_keys={args.idempotency_keys} webhooks={args.webhooks}")  # fmt: skip
    ratios: list[float] = []
    script = ""
    with Stack(config) as stack:
        if args.webhooks == "async":
            set_webhooks_only_async(stack.gateway_url)
        for trial in range(1, args.trials + 1):
            if args.trials > 1:
                print(f"-- trial {trial} of {args.trials}")
            engine = measure_engine(stack, args)
            report_engine(engine)
            script = pgbench_script(args.idempotency_keys, engine.body_bytes)
            schema = f"pgbench_{secrets.token_hex(4)}"
            provision_target(stack.database_url, schema, demo_merchants(1, 1))
            try:
                result = run_pgbench(stack.database_url, schema, script, args, pgbench)
            finally:
                drop_target(stack.database_url, schema)
            print(f"pgbench: {result.tps:9.1f} transactions/s     ({result.transactions} in "
                  f"{args.duration:.0f} s, {result.failed} failed; 1 transaction = the SQL "
                  f"of one create-and-confirm)")  # fmt: skip
            ratios.append(engine.rate / result.tps if result.tps else 0.0)
            print(f"ratio:   {ratios[-1]:9.3f} engine / pgbench")
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= 0.5 else "below"
    label = f"median of {len(ratios)} trials" if len(ratios) > 1 else "one trial"
    print(f"RESULT:  engine / pgbench = {ratio:.3f} ({label}; {verdict} the 0.5 goal)")
    print("pgbench script:")
    print("  " + script.replace("\n", "\n  ").rstrip())
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


def set_webhooks_only_async(gateway_url: str) -> None:
    """Keep the simulator's profile but send webhooks only for outcomes the reply lacked."""
    with httpx.Client(base_url=gateway_url, timeout=10, trust_env=False) as client:
        client.put("/__admin__/profile", json={"webhook": {"only_async": True}}).raise_for_status()


if __name__ == "__main__":
    raise SystemExit(main())
