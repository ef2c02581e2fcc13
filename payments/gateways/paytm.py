"""Paytm protocol: ``{head, body}`` JSON APIs signed with Paytm's checksum.

A charge is ``initiateTransaction`` (signed with the merchant key, returns a
``txnToken``) then ``processTransaction`` (authorised by that token).
``/v3/order/status`` is the source of truth. Refunds are asynchronous: the
refund call answers PENDING (601) and ``/v2/refund/status`` or a callback
settles them. Paytm deduplicates refunds by ``refId`` (617), so a repeated
refund flow with the same refund id reads the refund's status instead.

Responses carrying ``head.signature`` are verified; a response with a bad
signature is treated as saying nothing (``UNKNOWN``), never as a decline.
The envelope: :mod:`payments.gateways.paytm_envelope`; callbacks:
:mod:`payments.gateways.paytm_webhooks`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from payments.gateways import checksum, outcomes
from payments.gateways.base import (
    AttemptStatus,
    ChargeOutcome,
    ChargeRequest,
    GatewayCredentials,
    GatewayFlow,
    GatewayName,
    GatewayReply,
    HttpRequest,
    HttpResponse,
    RefundFlow,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
    TransportError,
)
from payments.gateways.paytm_envelope import envelope, open_envelope, signed_envelope
from payments.gateways.wire import JSON_TYPE, as_str
from payments.money import format_major, parse_major

INITIATE_PATH = "/theia/api/v1/initiateTransaction"
PROCESS_PATH = "/theia/api/v1/processTransaction"
ORDER_STATUS_PATH = "/v3/order/status"
REFUND_PATH = "/refund/api/v1/async/refund"
REFUND_STATUS_PATH = "/v2/refund/status"

# Result codes (GATEWAYS.md).
CODE_OK = "0000"
CODE_DUPLICATE_ORDER = "0002"
CODE_SUCCESS = "01"
CODE_TXN_FAILED = "227"
CODE_INSUFFICIENT = "235"
CODE_INVALID_VPA = "295"
CODE_CHECKSUM_INVALID = "330"
CODE_NO_RECORD = "331"
CODE_PENDING = "400"
CODE_PENDING_BANK = "402"
CODE_BANK_DECLINED = "401"
CODE_SYSTEM_ERROR = "501"
CODE_ORDER_CLOSED = "810"
CODE_REFUND_PENDING = "601"
CODE_REFUND_SUCCESS = "10"
CODE_REFUND_DUPLICATE = "617"
CODE_REFUND_OVER = "619"
CODE_REFUND_NOT_ALLOWED = "620"
CODE_REFUND_NO_RECORD = "631"

PAYMENT_MODES: dict[str, tuple[str, dict[str, str]]] = {
    "card": ("CREDIT_CARD", {"cardInfo": "|4111111111111111|123|122032", "authMode": "otp"}),
    "upi": ("UPI", {"payerAccount": "customer@paytm"}),
    "netbanking": ("NET_BANKING", {"channelCode": "HDFC"}),
    "wallet": ("BALANCE", {}),
}


def _query(mid: str, order_id: str) -> str:
    return "?" + urlencode({"mid": mid, "orderId": order_id})


def _request(path: str, body: bytes, kind: str) -> HttpRequest:
    headers = {"Content-Type": JSON_TYPE, "Accept": JSON_TYPE}
    return HttpRequest(GatewayName.PAYTM, "POST", path, headers, body, kind)


WallClock = Callable[[], float]
"""Wall-clock seconds since the epoch, for ``requestTimestamp``."""


def _timestamp(now: WallClock) -> str:
    return str(int(now() * 1000))


# -- request builders ------------------------------------------------------------


def initiate_request(
    creds: GatewayCredentials, req: ChargeRequest, now: WallClock = time.time
) -> HttpRequest:
    body: dict[str, Any] = {
        "requestType": "Payment",
        "mid": creds.merchant_id,
        "websiteName": creds.website,
        "orderId": req.attempt_id,
        "callbackUrl": req.return_url,
        "txnAmount": {"value": format_major(req.amount, req.currency), "currency": req.currency},
        "userInfo": {"custId": req.customer_id},
    }
    if req.reference:
        body["extendInfo"] = {"mercUnqRef": req.reference}
    raw = signed_envelope(body, creds.api_key, channelId="WEB", requestTimestamp=_timestamp(now))
    return _request(INITIATE_PATH + _query(creds.merchant_id, req.attempt_id), raw, "auth")


def process_request(
    creds: GatewayCredentials, req: ChargeRequest, token: str, now: WallClock = time.time
) -> HttpRequest:
    mode, extra = PAYMENT_MODES.get(req.payment_method, PAYMENT_MODES["card"])
    body = {
        "requestType": "NATIVE",
        "mid": creds.merchant_id,
        "orderId": req.attempt_id,
        "paymentMode": mode,
        **extra,
    }
    head = {
        "txnToken": token,
        "version": "v1",
        "channelId": "WEB",
        "requestTimestamp": _timestamp(now),
    }
    raw = envelope(body, head)[1]
    return _request(PROCESS_PATH + _query(creds.merchant_id, req.attempt_id), raw, "auth")


def status_request(creds: GatewayCredentials, order_id: str) -> HttpRequest:
    raw = signed_envelope({"mid": creds.merchant_id, "orderId": order_id}, creds.api_key)
    return _request(ORDER_STATUS_PATH, raw, "status")


def refund_request(creds: GatewayCredentials, req: RefundRequest) -> HttpRequest:
    body = {
        "mid": creds.merchant_id,
        "txnType": "REFUND",
        "orderId": req.attempt_id,
        "txnId": req.gateway_txn_id or "",
        "refId": req.refund_id,
        "refundAmount": format_major(req.amount, req.currency),
    }
    return _request(REFUND_PATH, signed_envelope(body, creds.api_key), "refund")


def refund_status_request(creds: GatewayCredentials, req: RefundRequest) -> HttpRequest:
    body = {"mid": creds.merchant_id, "orderId": req.attempt_id, "refId": req.refund_id}
    return _request(REFUND_STATUS_PATH, signed_envelope(body, creds.api_key), "status")


# -- response parsing --------------------------------------------------------------


def _result(body: Mapping[str, Any]) -> tuple[str, str, str]:
    info = body.get("resultInfo")
    info = info if isinstance(info, dict) else {}
    return (
        as_str(info.get("resultStatus")) or "",
        as_str(info.get("resultCode")) or "",
        as_str(info.get("resultMsg")) or "",
    )


def _open_reply(
    reply: HttpResponse, key: str
) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """``(body, error_code, error_message)``: body only when well-formed and authentic."""
    env = open_envelope(reply.body)
    if env is None:
        return None, "gateway_bad_response", outcomes.snippet(reply)
    head, body, body_text = env
    signature = as_str(head.get("signature"))
    if signature and not checksum.verify_string(body_text, key, signature):
        return None, "gateway_bad_signature", "response signature does not verify"
    return body, None, None


def _error_message(reply: HttpResponse) -> str:
    """The gateway's ``resultMsg`` when an error reply has one, else a body snippet."""
    env = open_envelope(reply.body)
    if env is not None:
        message = _result(env[1])[2]
        if message:
            return message
    return outcomes.snippet(reply)


def _charge_error(reply: GatewayReply, *, query: bool = False) -> ChargeOutcome | None:
    if isinstance(reply, TransportError):
        return outcomes.charge_transport_outcome(reply, query=query)
    unknown = outcomes.error_says_nothing(reply, query=query)
    if unknown is None:
        return None
    status = AttemptStatus.UNKNOWN if unknown else AttemptStatus.FAILED
    return ChargeOutcome(
        status, error_code=outcomes.http_code(reply), error_message=_error_message(reply)
    )


def _amount(value: Any, currency: str) -> int | None:
    text = as_str(value)
    if text is None:
        return None
    try:
        return parse_major(text, currency)
    except ValueError:
        return None


def outcome_from_txn(status: str, code: str, message: str, txn: Mapping[str, Any]) -> ChargeOutcome:
    """Map a Paytm transaction status (STATUS/resultStatus + code) to an outcome."""
    txn_id = as_str(txn.get("TXNID")) or as_str(txn.get("txnId")) or None
    currency = as_str(txn.get("CURRENCY")) or as_str(txn.get("currency")) or "INR"
    amount = _amount(txn.get("TXNAMOUNT", txn.get("txnAmount")), currency)
    if status == "TXN_SUCCESS":
        return ChargeOutcome(AttemptStatus.SUCCEEDED, txn_id, code or status, amount=amount)
    if status == "PENDING" or code in (CODE_PENDING, CODE_PENDING_BANK):
        return ChargeOutcome(AttemptStatus.PENDING, txn_id, code or status, amount=amount)
    if code == CODE_SYSTEM_ERROR:
        # "System error" says nothing about whether the money moved.
        return ChargeOutcome(AttemptStatus.UNKNOWN, txn_id, code, code, message)
    if status in ("TXN_FAILURE", "NO_RECORD_FOUND", "F"):
        return ChargeOutcome(AttemptStatus.FAILED, txn_id, code or status, code or status, message)
    return ChargeOutcome(AttemptStatus.UNKNOWN, txn_id, code or None, "unexpected_status", status)


def parse_order_status(reply: GatewayReply, key: str) -> ChargeOutcome:
    err = _charge_error(reply, query=True)
    if err is not None:
        return err
    assert isinstance(reply, HttpResponse)
    body, code, message = _open_reply(reply, key)
    if body is None:
        return ChargeOutcome(AttemptStatus.UNKNOWN, error_code=code, error_message=message)
    status, rcode, rmsg = _result(body)
    return outcome_from_txn(status, rcode, rmsg, body)


def parse_process(reply: GatewayReply, key: str) -> ChargeOutcome:
    err = _charge_error(reply)
    if err is not None:
        return err
    assert isinstance(reply, HttpResponse)
    body, code, message = _open_reply(reply, key)
    if body is None:
        return ChargeOutcome(AttemptStatus.UNKNOWN, error_code=code, error_message=message)
    status, rcode, rmsg = _result(body)
    txn = body.get("txnInfo")
    if isinstance(txn, dict) and txn.get("STATUS"):
        return outcome_from_txn(
            as_str(txn.get("STATUS")) or "",
            as_str(txn.get("RESPCODE")) or "",
            as_str(txn.get("RESPMSG")) or "",
            txn,
        )
    if status == "F":
        if rcode == CODE_SYSTEM_ERROR:
            return ChargeOutcome(AttemptStatus.UNKNOWN, None, rcode, rcode, rmsg)
        return ChargeOutcome(AttemptStatus.FAILED, None, rcode, rcode or "F", rmsg)
    return ChargeOutcome(AttemptStatus.UNKNOWN, None, rcode or None, "unexpected_status", status)


def _refund_error(reply: GatewayReply, *, query: bool = False) -> RefundOutcome | None:
    if isinstance(reply, TransportError):
        return outcomes.refund_transport_outcome(reply, query=query)
    unknown = outcomes.error_says_nothing(reply, query=query)
    if unknown is None:
        return None
    status = RefundStatus.UNKNOWN if unknown else RefundStatus.FAILED
    return RefundOutcome(
        status, error_code=outcomes.http_code(reply), error_message=_error_message(reply)
    )


def refund_outcome_from(
    status: str, code: str, message: str, refund_id: str | None
) -> RefundOutcome:
    if status == "TXN_SUCCESS":
        return RefundOutcome(RefundStatus.SUCCEEDED, refund_id, code or status)
    if status == "PENDING" or code == CODE_REFUND_PENDING:
        return RefundOutcome(RefundStatus.PENDING, refund_id, code or status)
    if code == CODE_SYSTEM_ERROR:
        return RefundOutcome(RefundStatus.UNKNOWN, refund_id, code, code, message)
    if status in ("TXN_FAILURE", "F"):
        return RefundOutcome(
            RefundStatus.FAILED, refund_id, code or status, code or status, message
        )
    return RefundOutcome(RefundStatus.UNKNOWN, refund_id, code or None, "unexpected_status", status)


def parse_refund(reply: GatewayReply, key: str, *, query: bool = False) -> RefundOutcome:
    err = _refund_error(reply, query=query)
    if err is not None:
        return err
    assert isinstance(reply, HttpResponse)
    body, code, message = _open_reply(reply, key)
    if body is None:
        return RefundOutcome(RefundStatus.UNKNOWN, error_code=code, error_message=message)
    status, rcode, rmsg = _result(body)
    return refund_outcome_from(status, rcode, rmsg, as_str(body.get("refundId")))


def _result_code(reply: GatewayReply, key: str) -> str | None:
    if isinstance(reply, TransportError) or reply.status != 200:
        return None
    body, _, _ = _open_reply(reply, key)
    return None if body is None else _result(body)[1]


# -- flows -----------------------------------------------------------------------


def charge_flow(
    creds: GatewayCredentials, req: ChargeRequest, now: WallClock = time.time
) -> GatewayFlow:
    """initiateTransaction then processTransaction.

    A duplicate order id (0002) means an earlier attempt got this far: the
    flow reads the order's status rather than paying again. ``now`` stamps
    both requests.
    """
    reply = yield initiate_request(creds, req, now)
    err = _charge_error(reply)
    if err is not None:
        return err
    assert isinstance(reply, HttpResponse)
    body, code, message = _open_reply(reply, creds.api_key)
    if body is None:
        return ChargeOutcome(AttemptStatus.UNKNOWN, error_code=code, error_message=message)
    status, rcode, rmsg = _result(body)
    if rcode == CODE_DUPLICATE_ORDER:
        return parse_order_status((yield status_request(creds, req.attempt_id)), creds.api_key)
    token = as_str(body.get("txnToken"))
    if status != "S" or not token:
        if rcode == CODE_SYSTEM_ERROR:
            return ChargeOutcome(AttemptStatus.UNKNOWN, None, rcode, rcode, rmsg)
        # Initiation creates no charge, so a refusal here is a clean failure.
        return ChargeOutcome(AttemptStatus.FAILED, None, rcode or status, rcode or "F", rmsg)
    outcome = parse_process((yield process_request(creds, req, token, now)), creds.api_key)
    if outcome.amount is None and outcome.status is AttemptStatus.SUCCEEDED:
        outcome = ChargeOutcome(
            outcome.status, outcome.gateway_txn_id, outcome.gateway_status, amount=req.amount
        )
    return outcome


def status_flow(creds: GatewayCredentials, attempt_id: str) -> GatewayFlow:
    return parse_order_status((yield status_request(creds, attempt_id)), creds.api_key)


def refund_flow(creds: GatewayCredentials, req: RefundRequest) -> RefundFlow:
    """Async refund; a duplicate refId (617) reads the existing refund's status."""
    reply = yield refund_request(creds, req)
    if _result_code(reply, creds.api_key) == CODE_REFUND_DUPLICATE:
        reply = yield refund_status_request(creds, req)
        return parse_refund(reply, creds.api_key, query=True)
    return parse_refund(reply, creds.api_key)


def refund_status_flow(creds: GatewayCredentials, req: RefundRequest) -> RefundFlow:
    return parse_refund((yield refund_status_request(creds, req)), creds.api_key, query=True)


# -- callbacks / webhooks ----------------------------------------------------------
