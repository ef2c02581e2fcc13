"""The engine's create-and-confirm throughput next to pgbench running the same SQL.

How close does the engine come to what PostgreSQL alone sustains for the
statements one create-and-confirm request issues? One run on this machine,
per trial, three stages that use the same concurrency:

1. **engine**: a stack (``stack.services.Stack``) with the engine only, 2
   gunicorn workers, the gateway simulator's ``instant`` profile, on the
   PostgreSQL and Redis given by ``--database-url`` / ``--redis-url``
   (default: PAYBENCH_DATABASE_URL / PAYBENCH_REDIS_URL, else embedded
   servers), driven with ``POST /v1/payments`` + ``"confirm": true`` over
   keep-alive connections (closed model) by ``wrk``, a C load generator like
   pgbench's own client (``--loadgen aiohttp`` uses a Python client instead),
   after a warm-up that is not counted;
2. **pgbench** at the same concurrency, on a fresh schema of the same
   server, with a script made of the very statements of ``payments/sql.py``
   the flow issues per request, in the flow's order:
   ``INSERT_PAYMENT_WITH_ATTEMPT`` (the payment, already processing, and its
   attempt), ``SETTLE_ATTEMPT`` (with ``--idempotency-keys`` also
   ``IDEMPOTENCY_CLAIM`` first and ``IDEMPOTENCY_FINISH`` last). The
   merchant lookup is cached in each worker, so it is not part of a request;
3. **asyncpg alone** (reference, ``--no-driver-stage`` skips it): the same
   statements from as many Python processes as the engine has workers, each
   with the engine's asyncpg pool size, no HTTP: the most any asyncpg-based
   service could do here before it parses a request or calls a gateway.

It prints each throughput, CPU per request (per role, and for the whole
machine), and the ratios; the result is the median engine / pgbench ratio
over the trials (goal: >= 0.5). Command (about 45 s per trial)::

    .venv/bin/python benchmarks/engine_vs_pgbench.py \\
        --concurrency 32 --duration 10 --warmup 3 --trials 3

The engine's figure includes everything pgbench leaves out: HTTP parsing,
authentication, validation, two gateway calls to the simulator (Juspay
``/orders`` + ``/txns``) and a Redis write per request: 6 round trips to
other processes per request where pgbench makes 2, and all of it shares the
machine's cores with the load generator, the simulator and PostgreSQL.
pgbench and the asyncpg stage run after the engine's load, with the stack idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
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
import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway_sim.admin_client import GatewayAdmin  # noqa: E402
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
    machine_cpu_s: float  # CPU seconds of the whole machine (every process, kernel) in it

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, user + kernel), so far."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


def cpu_by_role(stack: Stack) -> dict[str, float]:
    """Cumulative CPU seconds of the stack's processes per role, and of the load generator
    (this process, plus any child it has waited for, such as wrk)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = sum(psutil.Process().cpu_times()[:2])
    out: dict[str, float] = {"loadgen": own + children.ru_utime + children.ru_stime}
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
    machine: list[float] = []

    async def snapshot_at(when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        cpu.append(cpu_by_role(stack))
        machine.append(machine_busy())

    async with aiohttp.ClientSession(base_url=url, headers=headers, connector=connector) as s:
        await asyncio.gather(snapshot_at(measure_from),
                             *(worker(s) for _ in range(concurrency)))  # fmt: skip
    cpu.append(cpu_by_role(stack))
    used = {role: cpu[1].get(role, 0.0) - cpu[0].get(role, 0.0) for role in cpu[1]}
    elapsed = max(0.0, min(measured_end, stop_at) - measure_from)
    return LoadResult(counted, errors, elapsed, statuses, body_bytes, used,
                      machine_busy() - machine[0])  # fmt: skip


# wrk: one request per call of request(), an order id unique per run, thread and call;
# done() prints the counts as one JSON line.
WRK_SCRIPT = r"""
local tag, auth, idem, counter = "", "", false, 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  tag, auth, idem = args[1], args[2], args[3] == "1"
end
function request()
  counter = counter + 1
  local id = tag .. "_" .. tid .. "_" .. counter
  local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
  if idem then headers["Idempotency-Key"] = "k" .. id end
  local body = '{"order_id":"w' .. id .. '","amount":10000,"currency":"INR",'
    .. '"gateway":"juspay","payment_method":"card","confirm":true}'
  return wrk.format("POST", "/v1/payments", headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"timeout":%d}\n', summary.requests, summary.duration, e.status, e.connect, e.read,
    e.write, e.timeout))
end
"""


def _wrk_run(wrk: str, url: str, script: str, *, seconds: float, args: argparse.Namespace,
             api_key: str) -> dict[str, int]:  # fmt: skip
    tag = secrets.token_hex(4)
    auth = basic_auth(api_key, "")
    idem = "1" if args.idempotency_keys else "0"
    done = subprocess.run(
        [wrk, f"-t{args.wrk_threads}", f"-c{args.concurrency}", f"-d{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", script, url, "--", tag, auth, idem],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = re.search(r"^WRK (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    counts: dict[str, int] = json.loads(found.group(1))
    return counts


def _drive_wrk(wrk: str, url: str, api_key: str, args: argparse.Namespace,
               stack: Stack) -> LoadResult:  # fmt: skip
    headers = {"Authorization": basic_auth(api_key, "")}
    # one request first: checks the set-up and gives the size of a 201 body
    probe = httpx.post(f"{url}/v1/payments", headers=headers, timeout=10, trust_env=False,
                       json={"order_id": f"probe_{secrets.token_hex(8)}", "amount": 10000,
                             "currency": "INR", "gateway": "juspay", "payment_method": "card",
                             "confirm": True})  # fmt: skip
    if probe.status_code != 201:
        raise SystemExit(f"engine answered {probe.status_code}: {probe.text}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    try:
        if args.warmup > 0:
            _wrk_run(wrk, url, script, seconds=args.warmup, args=args, api_key=api_key)
        before, machine_before = cpu_by_role(stack), machine_busy()
        counts = _wrk_run(wrk, url, script, seconds=args.duration, args=args,
                          api_key=api_key)  # fmt: skip
        after, machine_after = cpu_by_role(stack), machine_busy()
    finally:
        os.unlink(script)
    used = {role: after.get(role, 0.0) - before.get(role, 0.0) for role in after}
    errors = counts["status"] + sum(counts[k] for k in ("connect", "read", "write", "timeout"))
    ok = counts["requests"] - counts["status"]
    statuses = {201: ok} if not counts["status"] else {201: ok, -1: counts["status"]}
    return LoadResult(ok, errors, counts["duration_us"] / 1e6, statuses, len(probe.content),
                      used, machine_after - machine_before)  # fmt: skip


def measure_engine(stack: Stack, args: argparse.Namespace, wrk: str | None) -> LoadResult:
    key = stack.merchants["engine"][0].api_key
    if wrk is not None:
        return _drive_wrk(wrk, stack.urls["engine"], key, args, stack)
    return asyncio.run(_drive(stack.urls["engine"], key, args, stack))


# -- asyncpg alone ------------------------------------------------------------------------


@dataclass(frozen=True)
class DriverJob:
    """One process of the asyncpg-alone stage."""

    database_url: str
    schema: str
    tasks: int
    pool_size: int
    measure_from: float  # wall clock
    stop_at: float
    idempotency_keys: bool
    body_bytes: int


async def _driver_process(job: DriverJob) -> int:
    """Transactions ``job.tasks`` coroutines complete between two wall-clock times."""
    pool = await asyncpg.create_pool(
        job.database_url, min_size=job.pool_size, max_size=job.pool_size,
        server_settings={"search_path": job.schema}, reset=_no_reset,
    )  # fmt: skip
    body = b"x" * max(1, job.body_bytes)
    idempotency_keys, measure_from, stop_at = job.idempotency_keys, job.measure_from, job.stop_at
    done = 0

    async def one() -> None:
        nonlocal done
        while time.time() < stop_at:
            n = secrets.token_hex(9)
            pay, att, key = f"pay_{n}", f"att{n}", f"key_{n}"
            if idempotency_keys:
                await pool.fetchrow(sql.IDEMPOTENCY_CLAIM, MERCHANT_ID, key, "f" * 64, 60.0)
            await pool.fetchrow(sql.INSERT_PAYMENT_WITH_ATTEMPT, pay, MERCHANT_ID, f"ord_{n}",
                                10000, "INR", "juspay", "card", None, None, "{}",
                                att)  # fmt: skip
            await pool.fetchrow(sql.SETTLE_ATTEMPT, pay, att, "succeeded", f"txn_{n}",
                                "CHARGED", None, None, "succeeded")  # fmt: skip
            if idempotency_keys:
                await pool.execute(sql.IDEMPOTENCY_FINISH, MERCHANT_ID, key, 201, body)
            if measure_from <= time.time() <= stop_at:
                done += 1

    await asyncio.gather(*(one() for _ in range(job.tasks)))
    await pool.close()
    return done


async def _no_reset(conn: asyncpg.Connection) -> None:
    """The engine's pool does not reset connections on release either (engine/app.py)."""


def _driver_entry(job: DriverJob) -> int:
    return asyncio.run(_driver_process(job))


def _sleep_until(wall: float) -> None:
    time.sleep(max(0.0, wall - time.time()))


def measure_driver(database_url: str, schema: str, args: argparse.Namespace,
                   body_bytes: int) -> tuple[float, float]:  # fmt: skip
    """(transactions/s, machine CPU ms per transaction) of asyncpg alone."""
    shares = [args.concurrency // args.workers + (i < args.concurrency % args.workers)
              for i in range(args.workers)]  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        measure_from = time.time() + 5.0 + args.warmup  # 5 s to spawn and import
        stop_at = measure_from + args.duration
        jobs = [DriverJob(database_url, schema, tasks, args.pool_size, measure_from, stop_at,
                          args.idempotency_keys, body_bytes) for tasks in shares]  # fmt: skip
        pending = [pool.apply_async(_driver_entry, (job,)) for job in jobs]
        _sleep_until(measure_from)
        machine_before = machine_busy()
        _sleep_until(stop_at)
        machine_used = machine_busy() - machine_before
        done = sum(p.get(timeout=60) for p in pending)
    return done / args.duration, (1000 * machine_used / done if done else 0.0)


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
    lines.append(_pgbench_sql(sql.INSERT_PAYMENT_WITH_ATTEMPT, {
        1: pay, 2: f"'{MERCHANT_ID}'", 3: "('ord_' || :n)", 4: ":amount", 5: "'INR'",
        6: "'juspay'", 7: "'card'", 8: "NULL", 9: "NULL", 10: "'{}'", 11: attempt,
    }))  # fmt: skip
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
    machine_cpu_ms: float  # machine CPU per transaction (PostgreSQL, pgbench, kernel)


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
        machine_before = machine_busy()
        done = subprocess.run(command(args.duration), env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        machine_used = machine_busy() - machine_before
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
    n = int(txns.group(1))
    return PgbenchResult(float(tps.group(1)), n, int(failed.group(1)) if failed else 0, out,
                         1000 * machine_used / n if n else 0.0)  # fmt: skip


# -- main ---------------------------------------------------------------------------------


def report_engine(engine: LoadResult) -> None:
    print(f"engine:  {engine.rate:9.1f} create-and-confirm/s  "
          f"({engine.requests} x 201 in {engine.seconds:.2f} s, {engine.errors} errors, "
          f"statuses {engine.status_counts})")  # fmt: skip
    if engine.requests:
        per = ", ".join(f"{role} {1000 * cpu / engine.requests:.2f}"
                        for role, cpu in sorted(engine.cpu_s.items()))  # fmt: skip
        print(f"         CPU ms per request: {per}; whole machine "
              f"{1000 * engine.machine_cpu_s / engine.requests:.2f}")  # fmt: skip
        print("         (postgres and redis: every process of the server, other clients "
              "included when the servers are shared)")
        print(f"         machine load average: {os.getloadavg()[0]:.1f} "
              f"(other work on the machine lowers both figures)")  # fmt: skip


@dataclass(frozen=True)
class TrialRatios:
    engine_of_pgbench: float
    asyncpg_of_pgbench: float | None  # None without the asyncpg stage
    engine_of_asyncpg: float | None


def run_trial(stack: Stack, args: argparse.Namespace, pgbench: str,
              wrk: str | None) -> tuple[TrialRatios, str]:  # fmt: skip
    """engine, pgbench, asyncpg alone: their ratios and the pgbench script."""
    engine = measure_engine(stack, args, wrk)
    report_engine(engine)
    script = pgbench_script(args.idempotency_keys, engine.body_bytes)
    schema = f"pgbench_{secrets.token_hex(4)}"
    provision_target(stack.database_url, schema, demo_merchants(1, 1))
    try:
        result = run_pgbench(stack.database_url, schema, script, args, pgbench)
        driver = (measure_driver(stack.database_url, schema, args, engine.body_bytes)
                  if args.driver_stage else None)  # fmt: skip
    finally:
        drop_target(stack.database_url, schema)
    print(f"pgbench: {result.tps:9.1f} transactions/s     ({result.transactions} in "
          f"{args.duration:.0f} s, {result.failed} failed; 1 transaction = the SQL of one "
          f"create-and-confirm; whole machine {result.machine_cpu_ms:.2f} CPU ms each)")
    driver_ratio = engine_of_driver = None
    if driver is not None and result.tps and driver[0]:
        driver_ratio, engine_of_driver = driver[0] / result.tps, engine.rate / driver[0]
        print(f"asyncpg: {driver[0]:9.1f} transactions/s     (the same SQL from {args.workers} "
              f"Python processes, no HTTP; whole machine {driver[1]:.2f} CPU ms each) = "
              f"{driver_ratio:.3f} x pgbench")  # fmt: skip
    ratio = engine.rate / result.tps if result.tps else 0.0
    print(f"ratio:   {ratio:9.3f} engine / pgbench"
          + (f", {engine_of_driver:.3f} engine / asyncpg alone" if engine_of_driver else ""))
    return TrialRatios(ratio, driver_ratio, engine_of_driver), script


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
    parser.add_argument("--loadgen", choices=("auto", "wrk", "aiohttp"), default="auto",
                        help="what drives the engine: wrk (C, like pgbench's client), aiohttp "
                        "(Python), auto: wrk when installed")  # fmt: skip
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--no-driver-stage", dest="driver_stage", action="store_false",
                        help="skip the asyncpg-alone reference stage")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.workers < 1 or args.duration < 1 or args.trials < 1:
        parser.error("--concurrency, --workers, --duration and --trials must be >= 1")
    pgbench = find_pgbench(args.pgbench)
    wrk = shutil.which("wrk") if args.loadgen != "aiohttp" else None
    if args.loadgen == "wrk" and wrk is None:
        parser.error("--loadgen wrk: wrk is not on PATH (apt-get install -y wrk)")

    log_dir = Path(tempfile.mkdtemp(prefix="engine-vs-pgbench-"))
    config = StackConfig(
        log_dir=log_dir, database_url=args.database_url, redis_url=args.redis_url,
        targets=("engine",), workers=args.workers, db_pool_size=args.pool_size,
        gateway_profile="instant", merchants=1,
    )  # fmt: skip
    print(f"cpus={os.cpu_count()} concurrency={args.concurrency} workers={args.workers} "
          f"pool={args.pool_size} warmup={args.warmup}s duration={args.duration}s "
          f"idempotency_keys={args.idempotency_keys} webhooks={args.webhooks} "
          f"loadgen={'wrk' if wrk else 'aiohttp'}")  # fmt: skip
    trials: list[TrialRatios] = []
    script = ""
    with Stack(config) as stack:
        if args.webhooks == "async":
            set_webhooks_only_async(stack.gateway_url)
        for trial in range(1, args.trials + 1):
            if args.trials > 1:
                print(f"-- trial {trial} of {args.trials}")
            ratios_of_trial, script = run_trial(stack, args, pgbench, wrk)
            trials.append(ratios_of_trial)
    ratios = [t.engine_of_pgbench for t in trials]
    driver_ratios = [t.asyncpg_of_pgbench for t in trials if t.asyncpg_of_pgbench is not None]
    of_driver = [t.engine_of_asyncpg for t in trials if t.engine_of_asyncpg is not None]
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= 0.5 else "below"
    label = f"median of {len(ratios)} trials" if len(ratios) > 1 else "one trial"
    print(f"RESULT:  engine / pgbench = {ratio:.3f} ({label}; {verdict} the 0.5 goal)")
    if driver_ratios:
        print(f"         asyncpg alone / pgbench = {statistics.median(driver_ratios):.3f} "
              f"(the same SQL with no HTTP, no gateway, no cache: the ceiling of any "
              f"asyncpg-based service here)")  # fmt: skip
        print(f"         engine / asyncpg alone = {statistics.median(of_driver):.3f} (what the "
              f"HTTP request, the gateway calls and the cache cost on top of the SQL)")  # fmt: skip
    print("pgbench script:")
    print("  " + script.replace("\n", "\n  ").rstrip())
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


def set_webhooks_only_async(gateway_url: str) -> None:
    """Keep the simulator's profile but send webhooks only for outcomes the reply lacked."""
    with GatewayAdmin(gateway_url) as admin:
        admin.set_profile({"webhook": {"only_async": True}})


if __name__ == "__main__":
    raise SystemExit(main())
