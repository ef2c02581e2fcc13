"""A fresh machine: no URLs configured, so paybench starts PostgreSQL and Redis itself."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from stack.services import Stack, StackConfig
from tests.services.helpers import TARGETS, payment_body


@pytest.mark.embedded
def test_embedded_stack_serves_a_payment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no database or Redis URL, every service runs on embedded servers and charges."""
    for var in ("PAYBENCH_DATABASE_URL", "PAYBENCH_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    config = StackConfig(log_dir=tmp_path / "logs", targets=TARGETS, workers=1, merchants=1,
                         gateway_profile="instant")
    with Stack(config) as stack:
        assert stack.infra.postgres is not None
        assert stack.infra.postgres.embedded
        assert stack.infra.redis is not None
        assert stack.infra.redis.embedded
        for name in TARGETS:
            key = stack.merchants[name][0].api_key
            with httpx.Client(base_url=stack.urls[name], auth=(key, ""), timeout=30) as client:
                resp = client.post("/v1/payments", json=payment_body(confirm=True))
                assert resp.status_code == 201, resp.text
                assert resp.json()["status"] == "succeeded"
                pid = resp.json()["id"]
                assert client.get(f"/v1/payments/{pid}").json()["id"] == pid
        pg_port = urlsplit(stack.database_url).port
    assert pg_port is not None
    with pytest.raises(ConnectionRefusedError):  # the embedded server is gone with the stack
        socket.create_connection(("127.0.0.1", pg_port), timeout=1).close()
