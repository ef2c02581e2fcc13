"""The Server-Timing header of every service: its parts follow the work a request does.

The session's stack runs the ``instant`` gateway; a fixed 100 ms latency is set at
the simulator for the tests that need it, and a second small stack runs the
services with the header turned off.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from serving.server_timing import Parts, parse_header, parse_parts
from stack.services import Stack
from tests.services.gateway_tools import juspay_webhook, sim_profile
from tests.services.helpers import (
    TARGETS,
    Target,
    new_order,
    payment_body,
    stack_config,
)

FIXED_MS = 100.0
GATEWAY_KINDS = ("auth", "status", "refund")
NO_WEBHOOKS = {"webhook": {"enabled": False}}
FIXED_LATENCY = {
    **NO_WEBHOOKS,
    "latency": {kind: {"p50_ms": FIXED_MS, "p99_ms": FIXED_MS} for kind in GATEWAY_KINDS},
}
# Without simulated latency a gateway call is a local HTTP exchange: a few ms on a
# busy machine, far from the fixed profile's 100 ms.
INSTANT_CALL_MS = 20.0


def timing(resp: httpx.Response) -> Parts:
    """The response's parts, checked for consistency: a part without effects is 0.000,
    one with effects is > 0, and app is what total leaves (never negative)."""
    value = resp.headers.get("server-timing")
    assert value is not None, f"{resp.request.method} {resp.request.url.path}: no Server-Timing"
    parts = parse_parts(value)
    for ms, count in ((parts.db_ms, parts.db_count), (parts.cache_ms, parts.cache_count),
                      (parts.gateway_ms, parts.gateway_count)):  # fmt: skip
        assert count >= 0
        assert (ms > 0.0) == (count > 0), value
    assert parts.app_ms >= 0.0
    others = parts.db_ms + parts.cache_ms + parts.gateway_ms
    assert abs(others + parts.app_ms - parts.total_ms) <= 0.005, value  # 3-decimal rounding
    return parts


def _create(client: httpx.Client, **changes: Any) -> tuple[dict[str, Any], Parts]:
    resp = client.post("/v1/payments", json=payment_body(**changes))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body, timing(resp)


def test_header_parses_with_the_expected_parts(target: Target) -> None:
    """A payment's answer carries db, cache, gateway (with counts), app and total in ms,
    read back by Werkzeug's HTTP header parser."""
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(confirm=True))
    assert resp.status_code == 201, resp.text
    metrics = parse_header(resp.headers["server-timing"])
    assert list(metrics) == ["db", "cache", "gateway", "app", "total"]
    assert metrics["db"].desc is not None
    assert metrics["db"].desc.endswith("queries")
    assert metrics["gateway"].desc == "2 calls"  # Juspay: create the order, then the txn
    assert all(m.dur is not None and m.dur >= 0 for m in metrics.values())


def test_operations_endpoints_carry_zeros(target: Target) -> None:
    """/ping, /_stats, /metrics and unknown paths run no effect (all parts 0.000);
    /health runs its one query."""
    with target.anonymous() as client:
        for path in ("/ping", "/_stats", "/metrics", "/no/such/path"):
            parts = timing(client.get(path))
            assert (parts.db_count, parts.cache_count, parts.gateway_count) == (0, 0, 0), path
            assert parts.db_ms == parts.cache_ms == parts.gateway_ms == 0.0, path
            assert parts.app_ms == parts.total_ms, path
        health = timing(client.get("/health"))
    assert health.db_count == 1
    assert health.db_ms > 0.0
    assert health.gateway_count == 0


def test_db_part_for_every_endpoint_that_queries(target: Target, stack: Stack) -> None:
    """Every endpoint that runs SQL reports its queries and a db time > 0, webhooks included."""
    queried: dict[str, Parts] = {}
    with sim_profile(stack.gateway_url, NO_WEBHOOKS), target.client() as client:
        created, queried["create"] = _create(client)
        pid = created["id"]
        confirm = client.post(f"/v1/payments/{pid}/confirm")
        assert confirm.status_code == 200, confirm.text
        queried["confirm"] = timing(confirm)
        listed = client.get("/v1/payments", params={"order_id": created["order_id"]})
        assert listed.status_code == 200, listed.text
        queried["list"] = timing(listed)
        synced = client.post(f"/v1/payments/{pid}/sync")
        assert synced.status_code == 200, synced.text
        queried["sync"] = timing(synced)
        refund = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 100})
        assert refund.status_code == 201, refund.text
        queried["refund"] = timing(refund)
        got_refund = client.get(f"/v1/refunds/{refund.json()['id']}")
        assert got_refund.status_code == 200, got_refund.text
        queried["get_refund"] = timing(got_refund)
        got = client.get(f"/v1/payments/{pid}")  # read through the cache: may query or not
        assert got.status_code == 200, got.text
        assert timing(got).cache_count >= 1

        pending, _ = _create(client, amount=10002, confirm=True)  # stays pending: no webhook
        time.sleep(0.5)  # the gateway settles the charge, and its webhook says so
        body, headers = juspay_webhook(stack.gateway_url, target.merchants[0],
                                       pending["attempt_id"])  # fmt: skip
    with target.anonymous() as anon:
        hook = anon.post("/v1/webhooks/juspay", content=body, headers=headers)
    assert hook.status_code == 200, hook.text
    queried["webhook_juspay"] = timing(hook)
    for name, parts in queried.items():
        assert parts.db_count >= 1, (target.name, name, parts)
        assert parts.db_ms > 0.0, (target.name, name, parts)


def test_instant_gateway_adds_next_to_nothing(target: Target) -> None:
    """With the instant gateway a request without gateway calls says 0.000 and "0 calls",
    and a gateway call costs a local exchange, far below a simulated latency."""
    per_call: list[float] = []
    with target.client() as client:
        for _ in range(3):
            paid, parts = _create(client, confirm=True)
            assert parts.gateway_count >= 1
            per_call.append(parts.gateway_ms / parts.gateway_count)
            got = timing(client.get(f"/v1/payments/{paid['id']}"))
            assert (got.gateway_ms, got.gateway_count) == (0.0, 0)
        _, created = _create(client)
    assert (created.gateway_ms, created.gateway_count) == (0.0, 0)
    assert min(per_call) < INSTANT_CALL_MS, per_call
    assert max(per_call) < FIXED_MS / 2, per_call


def test_fixed_gateway_latency_fills_the_gateway_part(target: Target, stack: Stack) -> None:
    """With every gateway call taking 100 ms, the gateway part is >= 100 ms per call
    (charge, status and refund calls) and within the total."""
    seen: dict[str, Parts] = {}
    with sim_profile(stack.gateway_url, FIXED_LATENCY), target.client() as client:
        paid, seen["create_confirm"] = _create(client, confirm=True)
        assert paid["status"] == "succeeded", paid
        refund = client.post(f"/v1/payments/{paid['id']}/refunds", json={"amount": 100})
        assert refund.status_code == 201, refund.text
        seen["refund"] = timing(refund)
        pending, _ = _create(client, amount=10002, confirm=True)
        assert pending["status"] == "processing", pending
        synced = client.post(f"/v1/payments/{pending['id']}/sync")
        assert synced.status_code == 200, synced.text
        seen["sync"] = timing(synced)
    for name, parts in seen.items():
        assert parts.gateway_count >= 1, (target.name, name, parts)
        assert parts.gateway_ms >= FIXED_MS * parts.gateway_count, (target.name, name, parts)
        assert parts.total_ms >= parts.gateway_ms
    assert seen["refund"].gateway_count == 1


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three services with the header turned off (PAYBENCH_SERVER_TIMING=0)."""
    config = stack_config(tmp_path_factory.mktemp("quiet-stack-logs"), workers=1,
                          db_pool_size=2, merchants=1, server_timing=False)
    with Stack(config) as running:
        yield running


@pytest.mark.parametrize("name", TARGETS)
def test_header_absent_when_disabled(quiet_stack: Stack, name: str) -> None:
    """With the setting off no answer carries Server-Timing: payments, reads, operations."""
    key = quiet_stack.merchants[name][0].api_key
    with httpx.Client(base_url=quiet_stack.urls[name], auth=(key, ""), timeout=30) as client:
        paid = client.post("/v1/payments", json=payment_body(confirm=True))
        assert paid.status_code == 201, paid.text
        answers = [
            paid,
            client.get(f"/v1/payments/{paid.json()['id']}"),
            client.get("/v1/payments", params={"order_id": new_order()}),
            client.get("/ping"),
            client.get("/health"),
            client.get("/no/such/path"),
        ]
    for resp in answers:
        assert "server-timing" not in resp.headers, (name, resp.request.url.path)
        assert resp.headers.get("x-request-id")  # the rest of the edge still runs
