"""Gateway webhooks through each service: the simulator's deliveries settle payments, once,
whatever their order. What the flow decides from each event (authentication, duplicates,
settled attempts) is tested without I/O in tests/payments/test_flow_webhooks.py."""

from __future__ import annotations

import time
from typing import Any

import pytest

from stack.services import Stack
from tests.services.gateway_tools import (
    charges_per_order,
    wait_until,
    webhooks_delivered,
)
from tests.services.helpers import Target, payment_body, wait_for_status

GATEWAYS = ["juspay", "paytm"]


def _create_confirm(target: Target, amount: int, gateway: str) -> dict[str, Any]:
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(amount=amount, gateway=gateway,
                                                              confirm=True))  # fmt: skip
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _row(target: Target, payment_id: str) -> tuple[Any, ...]:
    return target.sql(
        "SELECT p.status, p.version, p.updated_at, a.status FROM payments p "
        "JOIN payment_attempts a ON a.id = p.attempt_id WHERE p.id = %s",
        payment_id,
    )[0]


@pytest.mark.parametrize("gateway", GATEWAYS)
@pytest.mark.parametrize(("amount", "final"), [(10002, "succeeded"), (10003, "failed")])
def test_pending_payment_is_settled_by_webhook(
    target: Target, stack: Stack, gateway: str, amount: int, final: str
) -> None:
    """A pending charge answers processing; the gateway's later webhook settles it."""
    payment = _create_confirm(target, amount, gateway)
    assert payment["status"] == "processing"
    with target.client() as client:
        settled = wait_for_status(client, f"/v1/payments/{payment['id']}", {final}, 10)
    assert settled["status"] == final
    assert _row(target, payment["id"])[3] == final
    expected = 1 if final == "succeeded" else 0
    assert charges_per_order(stack.gateway_url, [payment["attempt_id"]]) == {
        payment["attempt_id"]: expected
    }
    if final == "failed":
        assert settled["failure_code"]


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_webhook_arriving_before_the_confirm_response(
    target: Target, stack: Stack, gateway: str
) -> None:
    """The gateway charges, notifies at once, then its reply stalls past the timeout:
    the webhook settles the payment first and the confirm answers succeeded."""
    started = time.time()
    payment = _create_confirm(target, 10005, gateway)
    answered = time.time()
    assert payment["status"] == "succeeded"
    deliveries = webhooks_delivered(stack.gateway_url, payment["attempt_id"])
    assert deliveries
    assert all(d["status"] == 200 for d in deliveries)
    assert started < min(d["at"] for d in deliveries) < answered
    assert charges_per_order(stack.gateway_url, [payment["attempt_id"]]) == {
        payment["attempt_id"]: 1
    }


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_duplicated_and_out_of_order_webhooks(target: Target, stack: Stack, gateway: str) -> None:
    """The final event twice, then a stale pending one: the payment ends succeeded, charged once."""
    payment = _create_confirm(target, 10009, gateway)
    assert payment["status"] == "processing"
    attempt = payment["attempt_id"]
    assert wait_until(lambda: len(webhooks_delivered(stack.gateway_url, attempt)) >= 3, 10)
    deliveries = webhooks_delivered(stack.gateway_url, attempt)
    assert all(d["status"] == 200 for d in deliveries), deliveries
    events = [d["event"] for d in deliveries]
    stale = {"TXN_CREATED", "PENDING"}  # sent after the final event, out of order
    assert any(e in stale for e in events), events
    assert sum(e not in stale for e in events) >= 2, events  # the final one, twice
    status, version, updated_at, attempt_status = _row(target, payment["id"])
    assert (status, attempt_status) == ("succeeded", "succeeded")
    with target.client() as client:
        assert client.get(f"/v1/payments/{payment['id']}").json()["status"] == "succeeded"
    time.sleep(0.3)  # nothing more may arrive and change it
    assert _row(target, payment["id"]) == (status, version, updated_at, attempt_status)
    assert charges_per_order(stack.gateway_url, [attempt]) == {attempt: 1}
