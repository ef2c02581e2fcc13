"""Refund flows against scripted effects: the reservation comes first, is bounded, and a
failed refund frees it (no server, no I/O)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from payments import sql
from payments.gateways.base import HttpRequest
from payments.testing import Script
from tests.payments.flow_data import (
    ATT,
    MID,
    PAY,
    RE,
    REFUSED,
    TIMEOUT,
    answer,
    context,
    juspay,
    juspay_refunded,
    payment_row,
    refund_row,
    request,
)

pytestmark = pytest.mark.pure

REFUNDS = f"/v1/payments/{PAY}/refunds"
CACHE_KEY = f"pay:{MID}:{PAY}"
CAPTURED = payment_row(status="succeeded", attempt_id=ATT, gateway_txn_id="txn_1", version=3)
RESERVED = {**CAPTURED, "amount_refund_reserved": 2500, "version": 4}


def refund_script(reply: Any, settle: tuple[Any, ...], settled: dict[str, Any],
                  after: dict[str, Any]) -> Script:  # fmt: skip
    """Reserve 25.00, read the payment, ask Juspay (answered ``reply``), settle, re-cache."""
    return (
        Script()
        .query(sql.RESERVE_REFUND, (PAY, MID, RE, 2500, None), returns=refund_row(RE))
        .query(sql.GET_PAYMENT, (PAY, MID), returns=RESERVED)
        .http("POST", f"/orders/{ATT}/refunds", reply, kind="refund", gateway="juspay")
        .query(sql.SETTLE_REFUND, settle, returns=settled)
        .query(sql.GET_PAYMENT, (PAY, MID), returns=after)
        .cache_put(CACHE_KEY, version=after["version"])
    )


def test_refund_reserves_its_amount_before_calling_the_gateway() -> None:
    """RESERVE_REFUND (the bound, atomically) precedes the gateway call, which carries the
    refund id for deduplication; success settles it and re-caches the payment: 201."""
    after = {**CAPTURED, "status": "partially_refunded", "amount_refunded": 2500, "version": 5}
    script = refund_script(juspay_refunded(RE, "SUCCESS"), (RE, "succeeded", "rfnd_1", None, None),
                           refund_row(RE, status="succeeded", gateway_refund_id="rfnd_1"),
                           after)  # fmt: skip
    response = script.run(request(context(), "POST", REFUNDS, {"amount": 2500}))
    assert response.status == 201
    assert answer(response)["status"] == "succeeded"
    form = parse_qs(script.yielded(HttpRequest)[0].body.decode())
    assert form == {"unique_request_id": [RE], "amount": ["25.00"]}


@pytest.mark.parametrize(
    ("reply", "settle"),
    [
        (juspay_refunded(RE, "FAILURE"), (RE, "failed", "rfnd_1", "refund_failed", "FAILURE")),
        (juspay({"error_code": "invalid_amount", "error_message": "no"}, status=400),
         (RE, "failed", None, "invalid_amount", "no")),
        (REFUSED, (RE, "failed", None, "gateway_connect", "connection refused")),
    ],
)
def test_refund_the_gateway_refuses_settles_failed_which_frees_the_reservation(
    reply: Any, settle: tuple[Any, ...]
) -> None:
    """A refused or failed refund is settled 'failed' (SETTLE_REFUND then gives the reserved
    amount back); the payment keeps its state."""
    script = refund_script(reply, settle, refund_row(RE, status="failed"), CAPTURED)
    response = script.run(request(context(), "POST", REFUNDS, {"amount": 2500}))
    assert response.status == 201
    assert answer(response)["status"] == "failed"


def test_refund_lost_to_a_timeout_stays_unknown_and_keeps_its_reservation() -> None:
    """A timeout says nothing: the refund is 'unknown' (still reserved) until a status read."""
    settle = (RE, "unknown", None, "gateway_timeout", "read timed out")
    script = refund_script(TIMEOUT, settle, refund_row(RE), RESERVED)
    response = script.run(request(context(), "POST", REFUNDS, {"amount": 2500}))
    assert answer(response)["status"] == "unknown"


def test_refund_settled_first_by_a_webhook_is_read_back() -> None:
    """When the settle finds the refund already settled, the flow reads it by id instead."""
    script = (
        Script()
        .query(sql.RESERVE_REFUND, returns=refund_row(RE))
        .query(sql.GET_PAYMENT, returns=RESERVED)
        .http("POST", f"/orders/{ATT}/refunds", TIMEOUT)
        .query(sql.SETTLE_REFUND, returns=None)
        .query(sql.GET_REFUND_BY_ID, (RE,), returns=refund_row(RE, status="succeeded"))
        .query(sql.GET_PAYMENT, returns=RESERVED)
        .cache_put(CACHE_KEY)
    )
    response = script.run(request(context(), "POST", REFUNDS, {"amount": 2500}))
    assert answer(response)["status"] == "succeeded"


def test_refund_beyond_what_is_left_is_422_without_a_gateway_call() -> None:
    """No reservation (the bound held) on a captured payment: 422 naming what is left."""
    script = (
        Script()
        .query(sql.RESERVE_REFUND, (PAY, MID, RE, 2500, None), returns=None)
        .query(sql.GET_PAYMENT, returns={**CAPTURED, "amount_refund_reserved": 8000})
    )
    response = script.run(request(context(), "POST", REFUNDS, {"amount": 2500}))
    assert response.status == 422
    assert answer(response)["code"] == "refund_exceeds_amount"
    assert "refundable amount 2000" in answer(response)["error"]


@pytest.mark.parametrize("status", ["created", "processing", "failed", "refunded"])
def test_refund_of_an_uncaptured_payment_is_409(status: str) -> None:
    """Only succeeded or partially refunded payments can be refunded: 409 invalid_state."""
    script = (
        Script()
        .query(sql.RESERVE_REFUND, returns=None)
        .query(sql.GET_PAYMENT, returns=payment_row(status=status))
    )
    response = script.run(request(context(), "POST", REFUNDS, {"amount": 2500}))
    assert response.status == 409
    assert answer(response)["code"] == "invalid_state"


def test_refund_of_an_unknown_payment_is_404() -> None:
    """No reservation and no payment of this merchant: 404."""
    script = Script().query(sql.RESERVE_REFUND, returns=None).query(sql.GET_PAYMENT, returns=None)
    assert script.run(request(context(), "POST", REFUNDS, {"amount": 2500})).status == 404


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": -5}, {"amount": 10, "extra": 1}, {}])
def test_bad_refund_is_400_without_any_effect(body: dict[str, Any]) -> None:
    """An invalid refund body is refused before anything is reserved."""
    response = Script().run(request(context(), "POST", REFUNDS, body, key="idem_r"))
    assert response.status == 400


@pytest.mark.parametrize("row", [refund_row(RE, status="succeeded"), None])
def test_read_refund_is_scoped_to_the_merchant(row: dict[str, Any] | None) -> None:
    """GET /v1/refunds/{id} reads by id and merchant: the refund, or 404."""
    script = Script().query(sql.GET_REFUND, (RE, MID), returns=row)
    response = script.run(request(context(), "GET", f"/v1/refunds/{RE}"))
    assert response.status == (200 if row else 404)
