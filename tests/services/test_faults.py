"""Gateway faults: ambiguous timeouts and resets never lose or double a charge.

These run on the session stack (gateway timeout 2 s) with the simulator's
webhooks switched off, so only the service's own status checks can settle
an unknown attempt. They prove that each service's driver turns a real
timeout or reset into what the flows expect; what the flows decide from each
gateway answer (5xx, 429, no record) is tested without I/O in
tests/payments/test_flow_payments.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from payments.gateways import juspay, paytm
from payments.gateways.base import ChargeRequest
from stack.services import Stack
from tests.services.gateway_tools import charges_per_order, credentials, sim, sim_profile
from tests.services.helpers import Target, payment_body

TIMEOUT_THEN_CHARGED = 10005  # charged, reply stalls past the caller's timeout
RESET_AFTER_CHARGE = 10007


@pytest.fixture
def no_webhooks(stack: Stack) -> Iterator[None]:
    with sim_profile(stack.gateway_url, {"webhook": {"enabled": False}, "stall_s": 4.0}):
        yield


def _create_confirm(target: Target, amount: int, gateway: str) -> dict[str, Any]:
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(amount=amount, gateway=gateway,
                                                              confirm=True))  # fmt: skip
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.mark.usefixtures("no_webhooks")
def test_timeout_then_sync_and_retried_confirm(target: Target, stack: Stack) -> None:
    """A charge whose reply times out stays processing; sync or a retried confirm settle it
    from the gateway's status, and the customer is charged once."""
    with ThreadPoolExecutor(2) as pool:  # both gateways' timeouts elapse together
        first, second = pool.map(
            lambda gw: _create_confirm(target, TIMEOUT_THEN_CHARGED, gw), ("juspay", "paytm")
        )
    with target.client() as client:
        for payment in (first, second):
            assert payment["status"] == "processing"
            assert client.get(f"/v1/payments/{payment['id']}").json()["status"] == "processing"
            assert target.sql("SELECT status FROM payment_attempts WHERE id = %s",
                              payment["attempt_id"])[0][0] == "unknown"  # fmt: skip
        synced = client.post(f"/v1/payments/{first['id']}/sync")
        assert synced.status_code == 200, synced.text
        assert synced.json()["status"] == "succeeded"
        assert synced.json()["gateway_txn_id"]
        retried = client.post(f"/v1/payments/{second['id']}/confirm")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "succeeded"
        assert retried.json()["attempt_id"] == second["attempt_id"]  # no new attempt
        again = client.post(f"/v1/payments/{second['id']}/confirm")
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_state"
        assert client.get(f"/v1/payments/{first['id']}").json()["status"] == "succeeded"
    for payment in (first, second):
        assert target.sql("SELECT count(*) FROM payment_attempts WHERE payment_id = %s",
                          payment["id"])[0][0] == 1  # fmt: skip
    attempts = [first["attempt_id"], second["attempt_id"]]
    assert charges_per_order(stack.gateway_url, attempts) == dict.fromkeys(attempts, 1)


@pytest.mark.usefixtures("no_webhooks")
@pytest.mark.parametrize("gateway", ["juspay", "paytm"])
def test_reset_after_charge_is_resolved_by_status(
    target: Target, stack: Stack, gateway: str
) -> None:
    """A connection reset after the gateway charged leaves processing; sync finds it charged."""
    payment = _create_confirm(target, RESET_AFTER_CHARGE, gateway)
    assert payment["status"] == "processing"
    with target.client() as client:
        synced = client.post(f"/v1/payments/{payment['id']}/sync").json()
    assert synced["status"] == "succeeded"
    assert charges_per_order(stack.gateway_url, [payment["attempt_id"]]) == {
        payment["attempt_id"]: 1
    }


@pytest.mark.parametrize("gateway", ["juspay", "paytm"])
def test_order_created_but_never_paid_is_failed_after_the_timeout_window(
    target: Target, stack: Stack, gateway: str
) -> None:
    """A service that died between creating the gateway order and paying it (Juspay /orders
    then /txns, Paytm initiate then process) leaves an unpaid order: sync fails the payment
    once the attempt is older than the timeout window, instead of waiting forever."""
    with target.client() as client:
        payment = client.post("/v1/payments", json=payment_body(gateway=gateway)).json()
    attempt = f"att{secrets.token_hex(9)}"
    # what the dead worker had written: created -> processing, and an unknown attempt
    target.sql(
        "WITH p AS (UPDATE payments SET status = 'processing', attempt_id = %s,"
        " version = version + 1 WHERE id = %s RETURNING id, merchant_id, gateway)"
        " INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, status,"
        " created_at, updated_at) SELECT %s, id, merchant_id, gateway, 'unknown',"
        " now() - interval '1 minute', now() - interval '1 minute' FROM p RETURNING id",
        attempt, payment["id"], attempt,
    )  # fmt: skip
    # ... and the first of its two gateway calls
    seed = target.merchants[0]
    request = ChargeRequest(attempt, payment["amount"], "INR", "card", reference=payment["id"])
    creds = credentials(seed, gateway)
    first = (juspay.create_order_request(creds, request) if gateway == "juspay"
             else paytm.initiate_request(creds, request))  # fmt: skip
    with sim(stack.gateway_url) as gw:
        sent = gw.request(first.method, first.path, headers=dict(first.headers),
                          content=first.body)  # fmt: skip
    assert sent.status_code == 200, sent.text
    with target.client() as client:
        synced = client.post(f"/v1/payments/{payment['id']}/sync").json()
    assert synced["status"] == "failed"
    assert synced["failure_code"] == "gateway_no_record"
    assert charges_per_order(stack.gateway_url, [attempt]) == {attempt: 0}
