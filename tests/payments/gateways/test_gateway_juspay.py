"""Juspay protocol: requests built, replies mapped, webhooks parsed, without I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Generator
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote_plus

import pytest

from payments.gateways import (
    charge_flow,
    juspay,
    juspay_webhooks,
    parse_webhook,
    status_flow,
    verify_webhook,
)
from payments.gateways.base import (
    AttemptStatus,
    ChargeRequest,
    GatewayCredentials,
    GatewayName,
    GatewayReply,
    HttpRequest,
    HttpResponse,
    RefundRequest,
    RefundStatus,
    TransportError,
)
from payments.gateways.errors import WebhookParseError
from payments.gateways.wire import basic_auth, parse_basic_auth

T = TypeVar("T")
CREDS = GatewayCredentials(GatewayName.JUSPAY, "merchant_1", "key_abc")
REQ = ChargeRequest("att_1", 10_050, "INR", "card", reference="pay_1")


def ok(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def run(
    flow: Generator[HttpRequest, GatewayReply, T], replies: list[GatewayReply]
) -> tuple[T, list[HttpRequest]]:
    sent = [next(flow)]
    for reply in replies:
        try:
            sent.append(flow.send(reply))
        except StopIteration as done:
            return done.value, sent
    raise AssertionError("flow wanted more replies")


ORDER_OK = ok({"status": "NEW", "status_id": 10, "order_id": "att_1", "id": "ordeh_1"})


def test_order_request_is_form_encoded_with_basic_auth() -> None:
    """POST /orders carries Basic auth (key, empty password), merchant id, version, form body."""
    req = juspay.create_order_request(CREDS, REQ)
    assert (req.method, req.path, req.kind) == ("POST", "/orders", "auth")
    assert parse_basic_auth(req.headers["Authorization"]) == ("key_abc", "")
    assert req.headers["x-merchantid"] == "merchant_1"
    assert req.headers["version"]
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(req.body.decode())
    assert form["amount"] == ["100.50"]
    assert form["order_id"] == ["att_1"]
    assert form["udf1"] == ["pay_1"]


def test_charge_success_maps_to_succeeded() -> None:
    """/orders then /txns CHARGED gives SUCCEEDED with the txn id and amount."""
    txn = ok({"order_id": "att_1", "txn_id": "txn_9", "status": "CHARGED", "status_id": 21})
    outcome, sent = run(charge_flow(CREDS, REQ), [ORDER_OK, txn])
    assert [r.path for r in sent] == ["/orders", "/txns"]
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (outcome.gateway_txn_id, outcome.amount) == ("txn_9", 10_050)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PENDING_VBV", AttemptStatus.PENDING),
        ("AUTHORIZING", AttemptStatus.PENDING),
        ("STARTED", AttemptStatus.PENDING),
        ("AUTHORIZATION_FAILED", AttemptStatus.FAILED),
        ("AUTHENTICATION_FAILED", AttemptStatus.FAILED),
        ("JUSPAY_DECLINED", AttemptStatus.FAILED),
        ("SOMETHING_NEW", AttemptStatus.UNKNOWN),
    ],
)
def test_txn_statuses_map(status: str, expected: AttemptStatus) -> None:
    """Juspay status names map to attempt statuses; unknown names are not failures."""
    txn = ok({"order_id": "att_1", "txn_id": "t", "status": status, "error_code": "05"})
    outcome, _ = run(charge_flow(CREDS, REQ), [ORDER_OK, txn])
    assert outcome.status is expected
    if expected is AttemptStatus.FAILED:
        assert outcome.error_code == "05"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (TransportError("timeout", True), AttemptStatus.UNKNOWN),
        (TransportError("reset", True), AttemptStatus.UNKNOWN),
        (TransportError("connect", False), AttemptStatus.FAILED),
        (ok({"error_code": "internal"}, 500), AttemptStatus.UNKNOWN),
        (ok({"error_code": "too_many_requests"}, 429), AttemptStatus.UNKNOWN),
        (ok({"error_code": "invalid_card"}, 400), AttemptStatus.FAILED),
        (HttpResponse(200, {}, b"<html>"), AttemptStatus.UNKNOWN),
    ],
)
def test_txn_call_failures(reply: GatewayReply, expected: AttemptStatus) -> None:
    """Ambiguous failures and 5xx/429 give UNKNOWN; only a definite refusal gives FAILED."""
    outcome, _ = run(charge_flow(CREDS, REQ), [ORDER_OK, reply])
    assert outcome.status is expected


def test_duplicate_order_reads_status_instead_of_paying() -> None:
    """A duplicate order id makes the flow read the order, not send a second /txns."""
    dup = ok({"status": "invalid_request_error", "error_code": "duplicate_order_id"}, 400)
    order = ok(
        {
            "order_id": "att_1",
            "status": "CHARGED",
            "txn_id": "t1",
            "amount": 100.5,
            "currency": "INR",
        }
    )
    outcome, sent = run(charge_flow(CREDS, REQ), [dup, order])
    assert [r.method for r in sent] == ["POST", "GET"]
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.amount == 10_050


def test_status_not_found_is_failed_and_errors_unknown() -> None:
    """404 NOT_FOUND means no charge; a 5xx or timeout on a status read is UNKNOWN."""
    nf = ok({"status": "NOT_FOUND", "status_id": 40}, 404)
    assert run(status_flow(CREDS, "x"), [nf])[0].status is AttemptStatus.FAILED
    assert run(status_flow(CREDS, "x"), [ok({}, 503)])[0].status is AttemptStatus.UNKNOWN
    lost = TransportError("connect", False)
    assert run(status_flow(CREDS, "x"), [lost])[0].status is AttemptStatus.UNKNOWN


def test_refund_request_and_parse() -> None:
    """Refunds post unique_request_id and amount; the refund is found by that id."""
    rreq = RefundRequest("rf_1", "att_1", "t1", 2_500, "INR")
    http = juspay.refund_request(CREDS, rreq)
    assert http.path == "/orders/att_1/refunds"
    assert parse_qs(http.body.decode()) == {"unique_request_id": ["rf_1"], "amount": ["25.00"]}
    order = ok(
        {
            "order_id": "att_1",
            "refunds": [
                {"id": "r9", "unique_request_id": "rf_1", "status": "PENDING", "amount": 25.0}
            ],
        }
    )
    outcome, _ = run(juspay.refund_flow(CREDS, rreq), [order])
    assert (outcome.status, outcome.gateway_refund_id) == (RefundStatus.PENDING, "r9")
    bad = ok({"error_code": "invalid_refund_amount"}, 400)
    assert run(juspay.refund_flow(CREDS, rreq), [bad])[0].status is RefundStatus.FAILED
    assert run(juspay.refund_flow(CREDS, rreq), [ok({}, 502)])[0].status is RefundStatus.UNKNOWN


def _event(name: str, order: dict[str, Any], **content: Any) -> bytes:
    return json.dumps(
        {
            "id": "evt_1",
            "event_name": name,
            "date_created": "2026-01-01T00:00:00Z",
            "content": {"order": order, **content},
        }
    ).encode()


def test_webhook_charge_and_refund_events_parse() -> None:
    """ORDER_SUCCEEDED gives a charge event; ORDER_REFUNDED names its refund."""
    ev = parse_webhook(
        "juspay",
        _event("ORDER_SUCCEEDED", {"order_id": "a1", "status": "CHARGED"}),
        "application/json",
    )
    assert (ev.kind, ev.attempt_id, ev.event_id) == ("charge", "a1", "evt_1")
    assert ev.charge is not None
    assert ev.charge.status is AttemptStatus.SUCCEEDED
    refund = {"id": "r1", "unique_request_id": "rf_1", "status": "SUCCESS"}
    ev = parse_webhook(
        "juspay",
        _event("ORDER_REFUNDED", {"order_id": "a1", "refunds": [refund]}),
        "application/json",
    )
    assert (ev.kind, ev.refund_id) == ("refund", "rf_1")
    assert ev.refund is not None
    assert ev.refund.status is RefundStatus.SUCCEEDED


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id":"e"}', _event("X", {})])
def test_bad_webhooks_raise(body: bytes) -> None:
    """Bodies that are not Juspay events raise WebhookParseError."""
    with pytest.raises(WebhookParseError):
        parse_webhook("juspay", body, "application/json")


def test_webhook_basic_auth_verification() -> None:
    """Only the merchant's configured Basic credentials authenticate a webhook."""
    good = {"authorization": basic_auth("hook", "s3cret")}
    assert verify_webhook("juspay", good, b"{}", CREDS, "hook", "s3cret")
    assert not verify_webhook("juspay", good, b"{}", CREDS, "hook", "other")
    assert not verify_webhook("juspay", {}, b"{}", CREDS, "hook", "s3cret")


def test_return_url_signature_round_trip_and_tamper() -> None:
    """The return-URL HMAC verifies, ignores its own fields, and breaks on any change."""
    params = {"order_id": "att_1", "status": "CHARGED", "status_id": "21", "note": "a b&c"}
    sig = juspay_webhooks.return_url_signature(params, "resp_key")
    signed = {**params, "signature": sig, "signature_algorithm": "HMAC-SHA256"}
    assert juspay_webhooks.return_url_signature(signed, "resp_key") == sig
    assert juspay_webhooks.verify_return_url(signed, "resp_key")
    assert juspay_webhooks.verify_return_url({**signed, "signature": quote_plus(sig)}, "resp_key")
    assert not juspay_webhooks.verify_return_url({**signed, "status": "PENDING_VBV"}, "resp_key")
    assert not juspay_webhooks.verify_return_url(signed, "other_key")
    assert not juspay_webhooks.verify_return_url(params, "resp_key")


def test_return_url_signature_matches_the_documented_recipe() -> None:
    """The signature equals HMAC-SHA256 over the doubly encoded sorted query, base64."""
    params = {"b": "2", "a": "x y"}
    message = quote_plus("a=x+y&b=2")
    digest = hmac.new(b"k", message.encode(), hashlib.sha256).digest()
    assert juspay_webhooks.return_url_signature(params, "k") == base64.b64encode(digest).decode()
