"""Requests per second the gateway simulator sustains with the ``instant`` profile.

Starts ``python -m gateway_sim --port 0`` as a subprocess on 127.0.0.1, registers
one Juspay and one Paytm merchant, then runs concurrent aiohttp clients for a
bounded time and request count per scenario and prints the figures::

    .venv/bin/python benchmarks/gateway_sim_throughput.py --seconds 5 --concurrency 64

Scenarios: Juspay order status reads (``GET /orders/{id}``), full Juspay
charges (``POST /orders`` + ``POST /txns``) and full Paytm charges (signed
initiate + process). Client and server share the machine, so the measured rate
is a lower bound for the simulator alone (often the Python client is the
bottleneck); the simulator's own CPU time per request, and the rate one
fully used simulator core would sustain at that cost, are printed too.

``--paced RATE`` measures instead what a service's load costs the simulator:
Juspay charges (order + txn) at RATE calls per second from the services' own
gateway client (``serving.gateway_http``), webhooks only for outcomes the
reply lacks (as the engine benchmarks set it), and prints the simulator's CPU
per call, user and system apart. A saturated simulator answers many requests
per wake-up of its event loop; a paced one wakes up for most of them, as it
does beside a service::

    .venv/bin/python benchmarks/gateway_sim_throughput.py --paced 2000 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import uvloop

from gateway_sim.admin_client import GatewayAdmin
from payments.gateways import juspay, paytm
from payments.gateways.base import ChargeRequest, GatewayCredentials, GatewayName, HttpRequest
from serving.gateway_http import GatewayHttpClient

ROOT = Path(__file__).resolve().parents[1]
PAYTM_KEY = "benchKey16bytes!"

RequestsFor = Callable[[int], list[HttpRequest]]


def start_sim() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "gateway_sim", "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.split("listening on ", 1)[1].split()[0]


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process from /proc (Linux); zeros elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process from /proc (Linux); 0.0 elsewhere."""
    return sum(cpu_split(pid))


async def paced_charges(url: str, pid: int, rate: float, seconds: float) -> None:
    """Juspay charges at ``rate`` calls/s from the services' client; sim CPU per call."""
    creds = GatewayCredentials(GatewayName.JUSPAY, "bench_j", "bench_key")
    client = GatewayHttpClient(url)
    run_id = secrets.token_hex(3)
    calls = 0

    async def charge(n: int) -> None:
        nonlocal calls
        req = ChargeRequest(f"q{run_id}{n}", 10_000, "INR", "card")
        for call in (juspay.create_order_request(creds, req),
                     juspay.create_txn_request(creds, req)):  # fmt: skip
            status, _, _ = await client.request(
                call.method, call.path, dict(call.headers), call.body, 5.0
            )
            if status != 200:
                raise SystemExit(f"{call.method} {call.path} answered {status}")
            calls += 1

    for n in range(200):  # warm-up: connections open, code paths hot
        await charge(-n - 1)
    calls = 0
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    user0, sys0 = cpu_split(pid)
    start = loop.time()
    sent = 0
    while loop.time() - start < seconds:
        due = start + sent / (rate / 2)  # two calls per charge
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        task = loop.create_task(charge(sent))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    user1, sys1 = cpu_split(pid)
    await client.close()
    user, system = (user1 - user0) / calls * 1e6, (sys1 - sys0) / calls * 1e6
    print(f"paced Juspay charges: {calls / elapsed:.0f} calls/s for {elapsed:.1f} s; "
          f"sim CPU {user + system:.1f} us/call (user {user:.1f}, system {system:.1f})")


async def run_scenario(
    session: aiohttp.ClientSession,
    url: str,
    make: RequestsFor,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> tuple[int, int, float]:
    """(requests, errors, elapsed) with ``concurrency`` workers until time or count runs out."""
    done = 0
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors, counter
        while time.perf_counter() < deadline and counter < max_requests:
            counter += 1
            for req in make(counter):
                async with session.request(
                    req.method, url + req.path, headers=dict(req.headers), data=req.body
                ) as resp:
                    await resp.read()
                    done += 1
                    if resp.status != 200:
                        errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, errors, time.perf_counter() - start


async def main_async(args: argparse.Namespace) -> None:
    proc, url = start_sim()
    try:
        with GatewayAdmin(url) as admin:  # before the measurement: nothing else runs yet
            for gateway, merchant_id, key in (("juspay", "bench_j", "bench_key"),
                                              ("paytm", "BENCHMID", PAYTM_KEY)):  # fmt: skip
                admin.add_merchant({"gateway": gateway, "merchant_id": merchant_id, "api_key": key})
        if args.paced:
            with GatewayAdmin(url) as admin:
                admin.set_profile({"webhook": {"only_async": True}})
            await paced_charges(url, proc.pid, args.paced, args.seconds)
        else:
            await measure(args, url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def measure(args: argparse.Namespace, url: str, pid: int) -> None:
    jcreds = GatewayCredentials(GatewayName.JUSPAY, "bench_j", "bench_key")
    pcreds = GatewayCredentials(GatewayName.PAYTM, "BENCHMID", PAYTM_KEY)
    run_id = secrets.token_hex(3)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        seed_req = ChargeRequest(f"seed{run_id}", 10_000, "INR", "card")
        for req in (
            juspay.create_order_request(jcreds, seed_req),
            juspay.create_txn_request(jcreds, seed_req),
        ):
            async with session.request(
                req.method, url + req.path, headers=dict(req.headers), data=req.body
            ) as resp:
                await resp.read()
        status_req = juspay.order_status_request(jcreds, seed_req.attempt_id)

        def juspay_charge(n: int) -> list[HttpRequest]:
            req = ChargeRequest(f"j{run_id}{n}", 10_000, "INR", "card")
            return [
                juspay.create_order_request(jcreds, req),
                juspay.create_txn_request(jcreds, req),
            ]

        def paytm_initiate(n: int) -> list[HttpRequest]:
            req = ChargeRequest(f"p{run_id}{n}", 10_000, "INR", "card")
            return [paytm.initiate_request(pcreds, req)]

        health = HttpRequest(GatewayName.JUSPAY, "GET", "/__admin__/health")
        scenarios: list[tuple[str, RequestsFor]] = [
            ("GET /__admin__/health (baseline)", lambda n: [health]),
            ("juspay GET /orders/{id}", lambda n: [status_req]),
            ("juspay POST /orders + /txns", juspay_charge),
            ("paytm initiateTransaction (signed)", paytm_initiate),
        ]
        print(f"simulator {url} profile=instant concurrency={args.concurrency}")
        for name, make in scenarios:
            cpu0 = cpu_seconds(pid)
            done, errors, elapsed = await run_scenario(
                session,
                url,
                make,
                concurrency=args.concurrency,
                seconds=args.seconds,
                max_requests=args.max_requests,
            )
            cpu = cpu_seconds(pid) - cpu0
            per_req = cpu / done * 1e6 if done else 0.0
            capacity = 1e6 / per_req if per_req else 0.0
            print(
                f"{name:36s} {done / elapsed:7.0f} req/s measured  {done:7d} requests  "
                f"{errors} errors  sim CPU {per_req:5.0f} us/request "
                f"({cpu / elapsed:4.2f} cores) -> {capacity:6.0f} req/s per sim core"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--paced", type=float, metavar="RATE",
                        help="Juspay calls per second from the services' client (see above)")
    uvloop.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
