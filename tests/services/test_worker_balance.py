"""Keep-alive connections opened in a burst are shared between the engine's workers."""

from __future__ import annotations

import socket
from collections import Counter

import psutil

from stack.services import Stack

BURST = 64  # kernel hashing: fewer than 16 on one worker has odds of about 1 in 40,000


def _engine_workers(stack: Stack) -> list[psutil.Process]:
    masters = [psutil.Process(p.pid) for p in stack.supervisor.children if p.name == "engine"]
    assert len(masters) == 1
    return masters[0].children()


def test_burst_of_keepalive_connections_reaches_every_engine_worker(stack: Stack) -> None:
    """A burst of 64 keep-alive connections is spread over both workers, not piled on one."""
    workers = _engine_workers(stack)
    assert len(workers) == stack.config.workers == 2
    host, port = stack.urls["engine"].removeprefix("http://").split(":")
    clients = [socket.create_connection((host, int(port))) for _ in range(BURST)]
    try:
        for c in clients:  # one request each, so every connection has been accepted
            c.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in clients:
            c.settimeout(10)
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        ours = {c.getsockname()[1] for c in clients}
        holders: Counter[int] = Counter()
        for w in workers:
            for conn in w.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port in ours:
                    holders[w.pid] += 1
        assert sum(holders.values()) == BURST
        assert min(holders.get(w.pid, 0) for w in workers) >= BURST // 4, holders
    finally:
        for c in clients:
            c.close()
