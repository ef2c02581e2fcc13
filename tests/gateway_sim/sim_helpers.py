"""Helpers for the simulator tests: a sync flow driver and a simulator process."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gateway_sim.admin_client import AdminError, GatewayAdmin
from payments.gateways.base import GatewayReply, HttpRequest, HttpResponse, TransportError

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
PAYTM_KEY = "k3yForPaytmTest!"  # 16 bytes: AES-128, like real Paytm merchant keys


def send(client: httpx.Client, req: HttpRequest, timeout: float) -> GatewayReply:
    """Move one request's bytes; map transport failures the way a driver must."""
    try:
        resp = client.request(
            req.method, req.path, headers=dict(req.headers), content=req.body, timeout=timeout
        )
    except httpx.ConnectError as exc:
        return TransportError("connect", False, str(exc))
    except httpx.TimeoutException as exc:
        return TransportError("timeout", True, str(exc))
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        return TransportError("reset", True, str(exc))
    return HttpResponse(resp.status_code, dict(resp.headers), resp.content)


def drive(
    client: httpx.Client, flow: Generator[HttpRequest, GatewayReply, T], timeout: float = 5.0
) -> tuple[T, list[HttpRequest]]:
    """Run a sans-I/O flow to completion; returns its outcome and the requests sent."""
    sent: list[HttpRequest] = []
    try:
        req = next(flow)
        while True:
            sent.append(req)
            req = flow.send(send(client, req, timeout))
    except StopIteration as done:
        return done.value, sent


@dataclass(frozen=True)
class Sim:
    url: str
    process: subprocess.Popen[str]


@contextmanager
def sim_process(
    *args: str, config: dict[str, Any] | None = None, tmp: Path | None = None
) -> Iterator[Sim]:
    """Start ``python -m gateway_sim --port 0`` and read its port from stdout."""
    cmd = [sys.executable, "-m", "gateway_sim", "--host", "127.0.0.1", "--port", "0", *args]
    if config is not None:
        assert tmp is not None
        path = tmp / f"sim-{secrets.token_hex(4)}.json"
        path.write_text(json.dumps(config))
        cmd += ["--config", str(path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"simulator did not start: {line!r}")
        url = line.split("listening on ", 1)[1].split()[0]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with GatewayAdmin(url, timeout_s=1) as admin:
                    admin.health()
                break
            except AdminError:
                time.sleep(0.05)
        yield Sim(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(5)}"
