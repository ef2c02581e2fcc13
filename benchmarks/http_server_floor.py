"""CPU per request of HTTP servers that do nothing, at the rate a service calls its gateway.

What the simulator's own server (``gateway_sim.http``) saves over the
frameworks it could run on. Each server runs alone in a subprocess with
uvloop and one handler that returns a fixed 70-byte JSON reply; the client
is the services' gateway client (``serving.gateway_http``) sending paced
form POSTs (open model, ``--rate`` per second, up to 64 in flight) for
``--seconds``, after a warm-up; the server process's CPU (user + system,
from /proc) is divided by the requests answered. Servers compared, in one
run, alternating over ``--rounds``:

* ``aiohttp``: an ``aiohttp.web.Application`` with one route (the simulator's
  server until it had its own);
* ``aiohttp-lowlevel``: ``aiohttp.web.Server``, no application or router;
* ``sanic``: one Sanic route, single process, access log off;
* ``gateway_sim``: ``gateway_sim.http.Server`` with one route;
* ``protocol``: an ``asyncio.Protocol`` with ``httptools`` and a task per
  request, no routing, no request object: the floor under ``gateway_sim``.

Command::

    .venv/bin/python benchmarks/http_server_floor.py --rate 2000 --seconds 8 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from serving.gateway_http import GatewayHttpClient

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("aiohttp", "aiohttp-lowlevel", "sanic", "gateway_sim", "protocol")
BODY = b'{"status":"CHARGED","order_id":"ord_1","txn_id":"t_1","amount":100.0}'
FORM = b"order_id=ord_1&amount=100.00&currency=INR&payment_method_type=CARD"
HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


# -- the servers (run in the child process) ----------------------------------------------


async def _serve_aiohttp(port: int, *, lowlevel: bool) -> None:
    from aiohttp import web  # noqa: PLC0415 - child process only

    async def handler(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response(body=BODY, content_type="application/json")

    runner: web.BaseRunner
    if lowlevel:
        runner = web.ServerRunner(web.Server(handler, access_log=None))
    else:
        app = web.Application()
        app.router.add_post("/txns", handler)
        runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def _serve_gateway_sim(port: int) -> None:
    from gateway_sim.http import Request, Response, Router, Server  # noqa: PLC0415 - child

    async def handler(request: Request[None]) -> Response:
        return Response(body=BODY, headers={"Content-Type": "application/json"})

    router: Router[None] = Router()
    router.add_post("/txns", handler)
    await Server(router, None).start("127.0.0.1", port)
    await asyncio.Event().wait()


async def _serve_protocol(port: int) -> None:
    import httptools  # noqa: PLC0415 - child process only

    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    reply = head % len(BODY) + BODY

    async def handler() -> bytes:
        return reply

    class Conn(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            task = asyncio.get_running_loop().create_task(handler())
            task.add_done_callback(lambda done: self.transport.write(done.result()))

    await asyncio.get_running_loop().create_server(Conn, "127.0.0.1", port)
    await asyncio.Event().wait()


def _serve_sanic(port: int) -> None:
    from sanic import Sanic, response  # noqa: PLC0415 - child process only
    from sanic.request import Request as SanicRequest  # noqa: PLC0415 - child process only

    app = Sanic("floor")

    @app.post("/txns")
    async def handler(request: SanicRequest) -> response.HTTPResponse:
        return response.raw(BODY, content_type="application/json")

    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)


def serve(kind: str, port: int) -> None:
    if kind == "sanic":
        _serve_sanic(port)
    elif kind == "gateway_sim":
        uvloop.run(_serve_gateway_sim(port))
    elif kind == "protocol":
        uvloop.run(_serve_protocol(port))
    else:
        uvloop.run(_serve_aiohttp(port, lowlevel=kind == "aiohttp-lowlevel"))


# -- the client ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_listening(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"server on port {port} did not start") from None
            await asyncio.sleep(0.1)
        else:
            writer.close()
            return


async def drive(port: int, pid: int, rate: float, seconds: float) -> tuple[float, float]:
    """``(requests/s answered, server CPU us per request)`` of one paced run."""
    client = GatewayHttpClient(f"http://127.0.0.1:{port}")
    for _ in range(300):  # warm-up: connections open, code paths hot
        await client.request("POST", "/txns", HEADERS, FORM, 5)
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(64)
    tasks: set[asyncio.Task[None]] = set()
    done = 0

    async def one() -> None:
        nonlocal done
        async with slots:
            status, _, _ = await client.request("POST", "/txns", HEADERS, FORM, 5)
            if status == 200:
                done += 1

    cpu0 = cpu_seconds(pid)
    start = loop.time()
    sent = 0
    while loop.time() - start < seconds:
        due = start + sent / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        task = loop.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    cpu = cpu_seconds(pid) - cpu0
    await client.close()
    return done / elapsed, cpu / max(done, 1) * 1e6


def measure(kind: str, rate: float, seconds: float) -> tuple[float, float]:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_listening(port))
        return uvloop.run(drive(port, proc.pid, rate, seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(SERVERS))
    if unknown:
        parser.error(f"unknown servers {unknown}; choose from {', '.join(SERVERS)}")
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    print(f"paced {args.rate:.0f} requests/s for {args.seconds:.0f} s, {args.rounds} rounds")
    for r in range(args.rounds):
        for kind in kinds:
            rps, us = measure(kind, args.rate, args.seconds)
            cpu[kind].append(us)
            print(f"round {r + 1} {kind:17s} {rps:7.0f} req/s  server CPU {us:6.1f} us/request")
    print("median server CPU per request:")
    for kind in kinds:
        print(f"  {kind:17s} {statistics.median(cpu[kind]):6.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
