"""Paytm protocol: signed envelopes, result codes, refunds and callbacks, without I/O."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any, TypeVar
from urllib.parse import urlencode

import paytmchecksum
import pytest

from payments.gateways import (
    charge_flow,
    parse_webhook,
    paytm,
    paytm_envelope,
    refund_flow,
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

T = TypeVar("T")
KEY = "Wv8zN3aQ5pL1xR7t"
CREDS = GatewayCredentials(GatewayName.PAYTM, "MID1", KEY, website="WEBSTAGING")
REQ = ChargeRequest("att_1", 10_050, "INR", "upi", reference="pay_1")


def signed(body: dict[str, Any], status: int = 200, key: str = KEY) -> HttpResponse:
    text = json.dumps(body)
    sig = paytmchecksum.generateSignature(text, key)
    raw = '{"head": {"signature": "' + sig + '"}, "body": ' + text + "}"
    return HttpResponse(status, {}, raw.encode())


def result(status: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"resultInfo": {"resultStatus": status, "resultCode": code, "resultMsg": "m"}, **extra}


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


INIT_OK = signed(result("S", "0000", txnToken="tok1"))


def test_initiate_request_signature_verifies_with_paytmchecksum() -> None:
    """The head.signature covers the exact body text and verifies with paytmchecksum."""
    req = paytm.initiate_request(CREDS, REQ)
    assert req.path.startswith(paytm.INITIATE_PATH + "?mid=MID1&orderId=att_1")
    text = req.body.decode()
    body_text = paytm_envelope.raw_member(text, "body")
    assert body_text is not None
    doc = json.loads(text)
    assert paytmchecksum.verifySignature(body_text, KEY, doc["head"]["signature"])
    assert doc["body"]["txnAmount"] == {"value": "100.50", "currency": "INR"}
    assert doc["body"]["websiteName"] == "WEBSTAGING"
    assert doc["body"]["extendInfo"] == {"mercUnqRef": "pay_1"}


def test_raw_member_returns_exact_source_text() -> None:
    """The body is sliced from the original text, spacing and escapes included."""
    text = '{ "head" : {"a": [1, {"b": "}"}]},\n "body" :  {"x": "\\u00e9" , "y": 1} }'
    assert paytm_envelope.raw_member(text, "body") == '{"x": "\\u00e9" , "y": 1}'
    assert paytm_envelope.raw_member(text, "missing") is None
    assert paytm_envelope.raw_member("[1]", "body") is None


def test_members_rejects_anything_but_one_object() -> None:
    """Missing commas, trailing text and non-objects are not Paytm envelopes."""
    found = paytm_envelope.members('{"a": 1, "b": [1, 2]}')
    assert found == {"a": (1, "1"), "b": ([1, 2], "[1, 2]")}
    assert paytm_envelope.members(" {} ") == {}
    for bad in ('{"a": 1 "b": 2}', '{"a": 1} tail', '{"a": 1', "[]", "{1: 2}"):
        assert paytm_envelope.members(bad) is None
    assert paytm_envelope.open_envelope(b'{"head": {}, "body": []}') is None


def test_charge_success_uses_token_and_maps_txn_info() -> None:
    """initiate then process with the txnToken; TXN_SUCCESS gives SUCCEEDED."""
    info = {
        "ORDERID": "att_1",
        "TXNID": "T1",
        "TXNAMOUNT": "100.50",
        "STATUS": "TXN_SUCCESS",
        "RESPCODE": "01",
        "RESPMSG": "ok",
    }
    outcome, sent = run(
        charge_flow(CREDS, REQ), [INIT_OK, signed(result("S", "0000", txnInfo=info))]
    )
    assert json.loads(sent[1].body)["head"]["txnToken"] == "tok1"
    assert json.loads(sent[1].body)["body"]["paymentMode"] == "UPI"
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (outcome.gateway_txn_id, outcome.amount) == ("T1", 10_050)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("PENDING", "402", AttemptStatus.PENDING),
        ("TXN_FAILURE", "227", AttemptStatus.FAILED),
        ("TXN_FAILURE", "235", AttemptStatus.FAILED),
        ("TXN_FAILURE", "501", AttemptStatus.UNKNOWN),
    ],
)
def test_process_statuses_map(status: str, code: str, expected: AttemptStatus) -> None:
    """Paytm STATUS/RESPCODE map to attempt statuses; system error 501 is UNKNOWN."""
    info = {"ORDERID": "att_1", "TXNID": "T1", "STATUS": status, "RESPCODE": code}
    outcome, _ = run(charge_flow(CREDS, REQ), [INIT_OK, signed(result("S", "0000", txnInfo=info))])
    assert outcome.status is expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (TransportError("timeout", True), AttemptStatus.UNKNOWN),
        (TransportError("connect", False), AttemptStatus.FAILED),
        (signed(result("F", "501"), status=500), AttemptStatus.UNKNOWN),
        (HttpResponse(429, {}, b""), AttemptStatus.UNKNOWN),
        (signed(result("S", "0000"), key="AnotherKey123456"), AttemptStatus.UNKNOWN),
    ],
)
def test_process_failures(reply: GatewayReply, expected: AttemptStatus) -> None:
    """Ambiguous failures, 5xx, 429 and badly signed replies never become FAILED."""
    outcome, _ = run(charge_flow(CREDS, REQ), [INIT_OK, reply])
    assert outcome.status is expected


def test_checksum_rejection_at_initiate_is_failed() -> None:
    """A refusal at initiation (330) is a clean failure: nothing was charged."""
    outcome, sent = run(charge_flow(CREDS, REQ), [signed(result("F", "330"))])
    assert len(sent) == 1
    assert (outcome.status, outcome.error_code) == (AttemptStatus.FAILED, "330")


def test_duplicate_order_reads_status() -> None:
    """0002 (duplicate order) makes the flow ask /v3/order/status instead of paying."""
    status = signed(result("TXN_SUCCESS", "01", txnId="T1", txnAmount="100.50"))
    outcome, sent = run(charge_flow(CREDS, REQ), [signed(result("S", "0002")), status])
    assert sent[1].path == paytm.ORDER_STATUS_PATH
    assert outcome.status is AttemptStatus.SUCCEEDED


def test_no_record_is_failed() -> None:
    """NO_RECORD_FOUND 331 on a status read means there is no charge."""
    flow = paytm.status_flow(CREDS, "att_x")
    outcome, _ = run(flow, [signed(result("NO_RECORD_FOUND", "331"))])
    assert outcome.status is AttemptStatus.FAILED


def test_refund_codes() -> None:
    """601 pending, 619 over-refund failed, 617 duplicate reads the refund status."""
    rreq = RefundRequest("rf_1", "att_1", "T1", 2_500, "INR")
    body = json.loads(paytm.refund_request(CREDS, rreq).body)["body"]
    assert (body["refId"], body["refundAmount"], body["txnType"]) == ("rf_1", "25.00", "REFUND")
    pending = signed(result("PENDING", "601", refundId="R1"))
    assert run(refund_flow(CREDS, rreq), [pending])[0].status is RefundStatus.PENDING
    over = signed(result("F", "619"))
    assert run(refund_flow(CREDS, rreq), [over])[0].status is RefundStatus.FAILED
    done = signed(result("TXN_SUCCESS", "10", refundId="R1"))
    outcome, sent = run(refund_flow(CREDS, rreq), [signed(result("F", "617")), done])
    assert sent[1].path == paytm.REFUND_STATUS_PATH
    assert (outcome.status, outcome.gateway_refund_id) == (RefundStatus.SUCCEEDED, "R1")


def _callback(**fields: str) -> bytes:
    base = {
        "ORDERID": "att_1",
        "MID": "MID1",
        "TXNID": "T1",
        "TXNAMOUNT": "100.50",
        "CURRENCY": "INR",
        "STATUS": "TXN_SUCCESS",
        "RESPCODE": "01",
        "RESPMSG": "ok",
    }
    base.update(fields)
    base["CHECKSUMHASH"] = paytmchecksum.generateSignature(dict(base), KEY)
    return urlencode(base).encode()


def test_callback_parses_and_verifies_with_paytmchecksum_signature() -> None:
    """A callback signed by paytmchecksum verifies and parses as a charge event."""
    body = _callback()
    assert verify_webhook("paytm", {}, body, CREDS, "", "")
    ev = parse_webhook("paytm", body, "application/x-www-form-urlencoded")
    assert (ev.kind, ev.attempt_id) == ("charge", "att_1")
    assert ev.charge is not None
    assert ev.charge.status is AttemptStatus.SUCCEEDED
    assert ev.event_id == parse_webhook("paytm", _callback(), "").event_id


def test_tampered_callback_fails_verification() -> None:
    """Changing any field after signing breaks the checksum."""
    body = _callback().replace(b"100.50", b"999.50")
    assert not verify_webhook("paytm", {}, body, CREDS, "", "")
    assert not verify_webhook("paytm", {}, b"ORDERID=x", CREDS, "", "")


def test_refund_callback_parses() -> None:
    """A callback with REFID is a refund event for that refund id."""
    ev = parse_webhook("paytm", _callback(REFID="rf_1", REFUNDID="R1", STATUS="TXN_SUCCESS"), "")
    assert (ev.kind, ev.refund_id) == ("refund", "rf_1")
    assert ev.refund is not None
    assert ev.refund.status is RefundStatus.SUCCEEDED


def test_callback_without_fields_raises() -> None:
    """A callback without ORDERID/STATUS is not a Paytm notification."""
    with pytest.raises(WebhookParseError):
        parse_webhook("paytm", b"FOO=1", "application/x-www-form-urlencoded")
