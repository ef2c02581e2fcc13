"""An independent constant-rate (open-loop) HTTP load generator, to check paybench against.

Nothing here comes from paybench or Locust: plain asyncio streams and a minimal HTTP/1.1
keep-alive client. Request ``k`` is due at ``t0 + k / rate`` whatever the server does (as
in wrk2); it goes out on an idle connection (most recently used first) or a new one, and
its latency runs from the *intended* start to the end of the response, so any delay of the
generator or the server counts. Requests due in the warm-up are sent but not measured;
after the measured window no new request is sent and those in flight are awaited (up to
``--drain-timeout``), so nothing is cut off at the window's end.

Printed (one JSON line): requests measured, completed per second inside the window (by
completion time), latency percentiles (numpy's linear interpolation, as paybench's
reports), errors, how late the sends were, and the generator's CPU seconds::

    .venv/bin/python benchmarks/openloop.py http://127.0.0.1:8000/ping --rate 400 \\
        --duration 10 --warmup 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np


@dataclass
class Tally:
    """Every request's intended start, completion and outcome."""

    intended: list[float] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    ok: list[bool] = field(default_factory=list)
    send_lag_s: list[float] = field(default_factory=list)


class Pool:
    """Keep-alive connections to one host; idle ones are reused last-in, first-out."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0
        self.slot = asyncio.Semaphore(limit)

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self.slot.acquire()
        if self.idle:
            return self.idle.pop()
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    def put(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is not None:
            self.idle.append(conn)
        self.slot.release()

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def one_request(pool: Pool, raw: bytes, intended: float, tally: Tally,
                      loop: asyncio.AbstractEventLoop) -> None:
    """Send one request and record it; a broken connection is an error, never retried."""
    conn = None
    ok = False
    try:
        conn = await pool.get()
        tally.send_lag_s.append(loop.time() - intended)
        reader, writer = conn
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await reader.readexactly(length)
        ok = 200 <= status < 300
        if b"connection: close" in head.lower():
            writer.close()
            conn = None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        if conn is not None:
            conn[1].close()
        conn = None
    finally:
        pool.put(conn)
    tally.intended.append(intended)
    tally.done.append(loop.time())
    tally.ok.append(ok)


async def drive(url: str, *, rate: float, duration: float, warmup: float, connections: int,
                prewarm: int, drain_timeout: float) -> dict[str, Any]:
    """Run the schedule and summarise the measured window."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    pool = Pool(host, port, connections)
    # Connections opened before the schedule starts, as a load tool with a fixed pool has.
    for _ in range(prewarm):
        pool.opened += 1
        pool.idle.append(await asyncio.open_connection(host, port))
    tally = Tally()
    tasks: set[asyncio.Task[None]] = set()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = loop.time() + 0.05
    window_start, window_end = t0 + warmup, t0 + warmup + duration
    k = 0
    while True:
        intended = t0 + k / rate
        if intended >= window_end:
            break
        delay = intended - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while intended <= loop.time() and intended < window_end:  # everything due
            task = loop.create_task(one_request(pool, raw, intended, tally, loop))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            k += 1
            intended = t0 + k / rate
    pending = set(tasks)
    timed_out = 0
    if pending:
        _, still = await asyncio.wait(pending, timeout=drain_timeout)
        timed_out = len(still)
        for task in still:
            task.cancel()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    pool.close()

    intended_arr = np.asarray(tally.intended)
    done_arr = np.asarray(tally.done)
    ok_arr = np.asarray(tally.ok, dtype=bool)
    measured = (intended_arr >= window_start) & (intended_arr < window_end)
    latency_ms = (done_arr[measured] - intended_arr[measured]) * 1000.0
    completed_in_window = int(((done_arr >= window_start) & (done_arr < window_end)
                               & ok_arr).sum())
    lag = np.asarray(tally.send_lag_s)
    pct = (np.percentile(latency_ms, [50, 90, 99, 99.9]) if latency_ms.size
           else [float("nan")] * 4)
    return {
        "tool": "openloop",
        "url": url,
        "rate": rate,
        "duration_s": duration,
        "warmup_s": warmup,
        "measured": int(measured.sum()),
        "errors": int((~ok_arr[measured]).sum()) + timed_out,
        "timed_out": timed_out,
        "completed_rps": completed_in_window / duration,
        "p50_ms": float(pct[0]),
        "p90_ms": float(pct[1]),
        "p99_ms": float(pct[2]),
        "p999_ms": float(pct[3]),
        "max_ms": float(latency_ms.max()) if latency_ms.size else float("nan"),
        "send_lag_p99_ms": float(np.percentile(lag, 99) * 1000.0) if lag.size else 0.0,
        "connections_opened": pool.opened,
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: one JSON line on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=1000, help="connection limit")
    parser.add_argument("--prewarm", type=int, default=16, help="connections opened up front")
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    out = asyncio.run(drive(args.url, rate=args.rate, duration=args.duration,
                            warmup=args.warmup, connections=args.connections,
                            prewarm=args.prewarm, drain_timeout=args.drain_timeout))
    out["wall_s"] = time.monotonic() - started
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
