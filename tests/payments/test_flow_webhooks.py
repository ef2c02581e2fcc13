"""Webhook flows against scripted effects: authenticated with the merchant's credentials,
applied by compare-and-set, recorded once (no server, no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments import sql
from payments.testing import Script
from tests.payments.flow_data import (
    ATT,
    MERCHANT_ROW,
    MID,
    PAY,
    RE,
    answer,
    attempt_row,
    context,
    juspay_event,
    juspay_refund_event,
    payment_row,
    paytm_callback,
    refund_row,
    request,
)

pytestmark = pytest.mark.pure

CACHE_KEY = f"pay:{MID}:{PAY}"
FORM = "application/x-www-form-urlencoded"
SUCCEEDED = payment_row(status="succeeded", attempt_id=ATT, gateway_txn_id="txn_1", version=3)
CHARGED = {"status": "CHARGED", "txn_id": "txn_1"}


def juspay_hook(body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
    return request(kwargs.pop("ctx", None) or context(), "POST", "/v1/webhooks/juspay", body,
                   headers=headers, authorization=None, **kwargs)  # fmt: skip


def test_genuine_event_settles_caches_and_is_recorded_once() -> None:
    """A charge event for an unsettled attempt: settle, re-cache, then record the event id."""
    body, headers = juspay_event("evt_1", CHARGED)
    script = (
        Script()
        .query(sql.GET_ATTEMPT, (ATT,), returns=attempt_row())
        .query(sql.SETTLE_ATTEMPT, (PAY, ATT, "succeeded", "txn_1", "CHARGED", None, None,
                                    "succeeded"), returns=SUCCEEDED)
        .cache_put(CACHE_KEY, version=3)
        .query(sql.RECORD_WEBHOOK_EVENT, ("juspay", "evt_1"), returns={"event_id": "evt_1"})
    )
    response = script.run(juspay_hook(body, headers))
    assert (response.status, answer(response)) == (200, {"received": True, "duplicate": False})


@pytest.mark.parametrize("recorded", [None, {"event_id": "evt_1"}])
def test_event_for_a_settled_attempt_changes_nothing(recorded: dict[str, str] | None) -> None:
    """A replayed or stale event for a settled attempt writes nothing but its record;
    ``duplicate`` says whether the event id was seen before."""
    body, headers = juspay_event("evt_1", {"status": "PENDING_VBV"})
    script = (
        Script()
        .query(sql.GET_ATTEMPT, returns=attempt_row(status="succeeded"))
        .query(sql.RECORD_WEBHOOK_EVENT, ("juspay", "evt_1"), returns=recorded)
    )
    response = script.run(juspay_hook(body, headers))
    assert answer(response) == {"received": True, "duplicate": recorded is None}


@pytest.mark.parametrize(
    "headers",
    [
        juspay_event("evt_1", CHARGED, password="not-the-password")[1],
        {"Content-Type": "application/json"},  # no credentials
        {"Authorization": "Basic " + "b3RoZXI6b3RoZXI=", "Content-Type": "application/json"},
    ],
)
def test_forged_juspay_event_is_401_and_writes_nothing(headers: dict[str, str]) -> None:
    """Wrong, foreign or missing Basic credentials: 401 invalid_signature after the lookup
    of the attempt (which names the merchant), with nothing settled or recorded."""
    body, _ = juspay_event("evt_1", CHARGED)
    script = Script().query(sql.GET_ATTEMPT, returns=attempt_row())
    response = script.run(juspay_hook(body, headers))
    assert response.status == 401
    assert answer(response)["code"] == "invalid_signature"


def test_paytm_callback_is_verified_with_the_merchants_key() -> None:
    """A callback whose CHECKSUMHASH verifies with the merchant's Paytm key settles the attempt
    under an event id derived from its fields."""
    script = (
        Script()
        .query(sql.GET_ATTEMPT, (ATT,), returns=attempt_row(gateway="paytm"))
        .query(sql.SETTLE_ATTEMPT, (PAY, ATT, "succeeded", "ptm_txn_1", "01", None, None,
                                    "succeeded"), returns=SUCCEEDED)
        .cache_put(CACHE_KEY)
        .query(sql.RECORD_WEBHOOK_EVENT,
               ("paytm", f"paytm:{ATT}:ptm_txn_1:TXN_SUCCESS:01"), returns={"event_id": "e"})
    )  # fmt: skip
    flow = request(context(), "POST", "/v1/webhooks/paytm", paytm_callback("TXN_SUCCESS", "01"),
                   authorization=None, content_type=FORM)  # fmt: skip
    assert script.run(flow).status == 200


@pytest.mark.parametrize("tamper", ["other key", "changed field"])
def test_forged_paytm_callback_is_401_and_writes_nothing(tamper: str) -> None:
    """A checksum made with another key, or a field changed after signing: 401."""
    if tamper == "other key":
        body = paytm_callback("TXN_SUCCESS", "01", key="0123456789abcdef")
    else:
        body = paytm_callback("TXN_SUCCESS", "01").replace(b"TXN_SUCCESS", b"TXN_FAILURE")
    script = Script().query(sql.GET_ATTEMPT, returns=attempt_row(gateway="paytm"))
    flow = request(context(), "POST", "/v1/webhooks/paytm", body, authorization=None,
                   content_type=FORM)  # fmt: skip
    assert script.run(flow).status == 401


def test_refund_event_settles_the_refund() -> None:
    """A refund event is tied to its refund by id and settled like a gateway reply."""
    body, headers = juspay_refund_event("evt_r", RE, "SUCCESS")
    script = (
        Script()
        .query(sql.GET_REFUND_BY_ID, (RE,), returns=refund_row(RE, status="pending"))
        .query(sql.SETTLE_REFUND, (RE, "succeeded", "rfnd_1", None, None),
               returns=refund_row(RE, status="succeeded"))
        .query(sql.GET_PAYMENT, (PAY, MID), returns=SUCCEEDED)
        .cache_put(CACHE_KEY)
        .query(sql.RECORD_WEBHOOK_EVENT, ("juspay", "evt_r"), returns={"event_id": "evt_r"})
    )
    assert script.run(juspay_hook(body, headers)).status == 200


def test_event_of_an_unknown_merchant_is_404() -> None:
    """The attempt's merchant is looked up by id (not cached here); none: 404."""
    body, headers = juspay_event("evt_1", CHARGED)
    script = (
        Script()
        .query(sql.GET_ATTEMPT, returns=attempt_row())
        .query(sql.MERCHANT_BY_ID, (MID,), returns=None)
    )
    assert script.run(juspay_hook(body, headers, ctx=context(signed_in=False))).status == 404


def test_merchant_of_an_event_is_looked_up_by_id_then_cached() -> None:
    """A merchant found by id is cached: the next event needs no lookup."""
    ctx = context(signed_in=False)
    body, headers = juspay_event("evt_1", CHARGED)
    settled = Script().query(sql.GET_ATTEMPT, returns=attempt_row(status="succeeded"))
    (settled.query(sql.MERCHANT_BY_ID, (MID,), returns=MERCHANT_ROW)
     .query(sql.RECORD_WEBHOOK_EVENT, returns=None)).run(juspay_hook(body, headers, ctx=ctx))
    (Script().query(sql.GET_ATTEMPT, returns=attempt_row(status="succeeded"))
     .query(sql.RECORD_WEBHOOK_EVENT, returns=None)).run(juspay_hook(body, headers, ctx=ctx))


def test_event_for_an_unknown_attempt_is_404() -> None:
    """An order id no attempt has: 404 after the one lookup."""
    body, headers = juspay_event("evt_1", CHARGED)
    script = Script().query(sql.GET_ATTEMPT, (ATT,), returns=None)
    assert script.run(juspay_hook(body, headers)).status == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (json.dumps({"id": "e", "event_name": "ORDER_SUCCEEDED"}).encode(), 400),
        (json.dumps({"id": "e", "event_name": "ORDER_SUCCEEDED",
                     "content": {"order": {"order_id": "att/../x"}}}).encode(), 404),
    ],
)  # fmt: skip
def test_malformed_event_or_id_is_refused_before_any_lookup(body: bytes, status: int) -> None:
    """An unparseable event is 400 invalid_webhook; an id that cannot be ours is 404, both
    before the database is asked anything (the body is unauthenticated)."""
    response = Script().run(juspay_hook(body, {"Content-Type": "application/json"}))
    assert response.status == status
