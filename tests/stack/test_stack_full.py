"""The real stack: gateway simulator, legacy service and engine on embedded servers."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import httpx
import psutil
import pytest

from stack.processes import port_is_free
from stack.services import Stack, StackConfig

MODULES = ("engine.__main__", "legacy_adapter.__main__", "gateway_sim.__main__")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.embedded,
    pytest.mark.skipif(
        any(importlib.util.find_spec(m) is None for m in MODULES),
        reason="the services are not installed",
    ),
]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


@pytest.mark.usefixtures("clean_environ")
def test_real_services_take_a_payment_and_reset(log_dir: Path) -> None:
    """Both targets answer health, create and confirm a payment, forget it after reset."""
    cfg = StackConfig(log_dir=log_dir, workers=1, db_pool_size=2, merchants=2,
                      gateway_profile="instant", startup_timeout_s=60)
    with Stack(cfg) as stack:
        assert set(stack.urls) == {"legacy", "engine"}
        for target, url in stack.urls.items():
            key = stack.merchants[target][0].api_key
            with httpx.Client(base_url=url, auth=(key, ""), trust_env=False, timeout=15) as c:
                health = c.get("/health")
                assert health.status_code == 200, (target, health.text)
                assert health.json()["status"] == "ok"
                created = c.post("/v1/payments", json={
                    "order_id": f"order_{target}_1", "amount": 10050, "currency": "INR",
                    "gateway": "juspay", "payment_method": "card", "confirm": True,
                })
                assert created.status_code == 201, (target, created.text)
                payment = created.json()
                assert payment["status"] in {"succeeded", "failed", "processing"}
                assert c.get(f"/v1/payments/{payment['id']}").status_code == 200
                stack.reset(target)
                assert c.get(f"/v1/payments/{payment['id']}").status_code == 404
        procs = stack.processes()
        roles = Counter(role for role, _ in procs)
        assert roles["legacy"] >= 2  # gunicorn master and a worker
        assert roles["engine"] >= 2
        assert roles["gateway_sim"] >= 1
        assert roles["postgres"] >= 2
        assert roles["redis"] == 1
        ports = [_port(u) for u in [*stack.urls.values(), stack.gateway_url]]
        stack.check_alive()
    assert not any(psutil.pid_exists(pid) for _, pid in procs)
    assert all(port_is_free(p) for p in ports)
