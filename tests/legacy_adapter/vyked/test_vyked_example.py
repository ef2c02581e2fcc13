"""The examples/vyked_port service: ported by changing imports only, and working."""

from __future__ import annotations

import difflib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from legacy_adapter.vyked import WSGIApplication

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "vyked_port"


def _load_ported() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "vyked_port_example", EXAMPLE / "ported_service.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def accounts() -> Iterator[httpx.Client]:
    """An in-process client of the ported example service."""
    service = _load_ported().AccountService("127.0.0.1", 0)
    transport = httpx.WSGITransport(app=WSGIApplication(service))
    with httpx.Client(transport=transport, base_url="http://accounts") as client:
        yield client


def test_only_imports_differ() -> None:
    """Every line that differs between the original and the port is an import."""
    original = (EXAMPLE / "original_service.py").read_text().splitlines()
    ported = (EXAMPLE / "ported_service.py").read_text().splitlines()
    changed = [
        line[1:]
        for line in difflib.unified_diff(original, ported, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed
    assert all(line.startswith(("from ", "import ")) for line in changed)
    assert "from legacy_adapter.vyked import" in "\n".join(ported)


def test_ported_service_behaves_like_the_original(accounts: httpx.Client) -> None:
    """Create, find, read and deposit work; required params and 404s answer as Vyked did."""
    missing = accounts.post("/accounts")
    assert missing.status_code == 400
    assert missing.content == b'{"error": "Required params owner not found"}'
    created = accounts.post("/accounts", params={"owner": "ann"})
    assert created.status_code == 201
    account_id = created.json()["id"]
    found = accounts.get("/accounts", params={"owner": "ann", "service": "x", "version": "1"})
    assert [a["id"] for a in found.json()["accounts"]] == [account_id]
    deposited = accounts.post(f"/accounts/{account_id}/deposits", json={"amount": 250})
    assert deposited.json()["balance"] == 250
    refused = accounts.post(f"/accounts/{account_id}/deposits", json={"amount": -1})
    assert refused.status_code == 400
    assert accounts.get(f"/accounts/{account_id}").json()["balance"] == 250
    assert accounts.get("/accounts/nope").status_code == 404
    stats = accounts.get("/_stats").json()
    assert stats["sub"]["http"]["sub"]["POST /accounts/{account_id}/deposits"]["count"] == 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_ported_script_runs_under_host_run() -> None:
    """``python ported_service.py PORT`` serves the service through ``Host.run()`` (gunicorn)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE / "ported_service.py"), str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "the example exited early"
            try:
                if httpx.get(base + "/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the example did not start"
                time.sleep(0.05)
        created = httpx.post(base + "/accounts", params={"owner": "bob"}, timeout=5)
        assert created.status_code == 201
        assert created.headers["x-request-id"]
        internal = httpx.get(base + "/__onemg-internal__/_stats", timeout=5).json()
        assert internal["count"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
