"""Paytm protocol: ``{head, body}`` JSON APIs signed with Paytm's checksum.

A charge is ``initiateTransaction`` (signed with the merchant key, returns a
``txnToken``) then ``processTransaction`` (authorised by that token).
``/v3/order/status`` is the source of truth. Refunds are asynchronous: the
refund call answers PENDING (601) and ``/v2/refund/status`` or a callback
settles them. Paytm deduplicates refunds by ``refId`` (617), so a repeated
refund flow with the same refund id reads the refund's status instead.

Responses carrying ``head.signature`` are verified; a response with a bad
signature is treated as saying nothing (``UNKNOWN``), never as a decline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
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
    WebhookEvent,
)
from payments.gateways.errors import WebhookParseError
from payments.gateways.wire import JSON_TYPE, as_str, decode_form, encode_json
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


# -- JSON envelope -----------------------------------------------------------------


def envelope(body: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[str, bytes]:
    """``(body_text, request_bytes)``: the body text is what the signature covers."""
    body_text = encode_json(body)
    return body_text, ('{"body":' + body_text + ',"head":' + encode_json(head) + "}").encode()


def signed_envelope(body: Mapping[str, Any], key: str, **head: Any) -> bytes:
    body_text = encode_json(body)
    signature = checksum.generate_for_string(body_text, key)
    return envelope(body, {**head, "signature": signature})[1]


_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def members(text: str) -> dict[str, tuple[Any, str]] | None:
    """Each top-level member of a JSON object: ``name -> (value, exact source text)``.

    Paytm signs the body *as sent*; re-serialising could change spacing or
    escapes, so the verifier slices the original text. One pass decodes every
    value once. None when ``text`` is not a single JSON object.
    """
    n = len(text)

    def skip(i: int) -> int:
        while i < n and text[i] in _WS:
            i += 1
        return i

    out: dict[str, tuple[Any, str]] = {}
    i = skip(0)
    if i >= n or text[i] != "{":
        return None
    i = skip(i + 1)
    if i < n and text[i] == "}":
        return out if skip(i + 1) == n else None
    while i < n:
        try:
            key, i = _DECODER.raw_decode(text, i)
            i = skip(i)
            if not isinstance(key, str) or i >= n or text[i] != ":":
                return None
            start = skip(i + 1)
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            return None
        out[key] = (value, text[start:end])
        i = skip(end)
        if i < n and text[i] == ",":
            i = skip(i + 1)
        elif i < n and text[i] == "}":
            return out if skip(i + 1) == n else None
        else:
            return None
    return None


def raw_member(text: str, name: str) -> str | None:
    """The exact source text of one top-level member of a JSON object."""
    found = members(text)
    if found is None or name not in found:
        return None
    return found[name][1]


def open_envelope(raw: bytes) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """``(head, body, body_text)`` of a Paytm JSON message, or None."""
    try:
        found = members(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if found is None or "head" not in found or "body" not in found:
        return None
    head, body = found["head"][0], found["body"]
    if not isinstance(head, dict) or not isinstance(body[0], dict):
        return None
    return head, body[0], body[1]


def _query(mid: str, order_id: str) -> str:
    return "?" + urlencode({"mid": mid, "orderId": order_id})


def _request(path: str, body: bytes, kind: str) -> HttpRequest:
    headers = {"Content-Type": JSON_TYPE, "Accept": JSON_TYPE}
    return HttpRequest(GatewayName.PAYTM, "POST", path, headers, body, kind)


def _timestamp() -> str:
    return str(int(time.time() * 1000))


# -- request builders ------------------------------------------------------------


def initiate_request(creds: GatewayCredentials, req: ChargeRequest) -> HttpRequest:
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
    raw = signed_envelope(body, creds.api_key, channelId="WEB", requestTimestamp=_timestamp())
    return _request(INITIATE_PATH + _query(creds.merchant_id, req.attempt_id), raw, "auth")


def process_request(creds: GatewayCredentials, req: ChargeRequest, token: str) -> HttpRequest:
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
        "requestTimestamp": _timestamp(),
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
    if outcomes.is_indeterminate(reply) or (query and reply.status >= 400):
        return ChargeOutcome(
            AttemptStatus.UNKNOWN,
            error_code=outcomes.http_code(reply),
            error_message=_error_message(reply),
        )
    if reply.status >= 400:
        return ChargeOutcome(
            AttemptStatus.FAILED,
            error_code=outcomes.http_code(reply),
            error_message=_error_message(reply),
        )
    return None


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
    if outcomes.is_indeterminate(reply) or (query and reply.status >= 400):
        return RefundOutcome(
            RefundStatus.UNKNOWN,
            error_code=outcomes.http_code(reply),
            error_message=_error_message(reply),
        )
    if reply.status >= 400:
        return RefundOutcome(
            RefundStatus.FAILED,
            error_code=outcomes.http_code(reply),
            error_message=_error_message(reply),
        )
    return None


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


def charge_flow(creds: GatewayCredentials, req: ChargeRequest) -> GatewayFlow:
    """initiateTransaction then processTransaction.

    A duplicate order id (0002) means an earlier attempt got this far: the
    flow reads the order's status rather than paying again.
    """
    reply = yield initiate_request(creds, req)
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
    outcome = parse_process((yield process_request(creds, req, token)), creds.api_key)
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

WEBHOOK_FIELDS = (
    "ORDERID", "MID", "TXNID", "TXNAMOUNT", "CURRENCY", "PAYMENTMODE", "TXNDATE",
    "STATUS", "RESPCODE", "RESPMSG", "GATEWAYNAME", "BANKTXNID", "BANKNAME",
)  # fmt: skip
REFUND_WEBHOOK_FIELDS = (
    "ORDERID", "MID", "TXNID", "REFID", "REFUNDID", "REFUNDAMOUNT", "CURRENCY",
    "TXNTYPE", "STATUS", "RESPCODE", "RESPMSG",
)  # fmt: skip


def parse_webhook(body: bytes) -> WebhookEvent:
    """Parse callback form fields; a ``REFID`` field marks a refund notification.

    Paytm callbacks carry no event id, so the id is derived from the fields
    that identify the state change: a duplicate delivery maps to the same id.
    """
    try:
        fields = decode_form(body)
    except UnicodeDecodeError:
        raise WebhookParseError("paytm", "body is not UTF-8 form data") from None
    order_id = fields.get("ORDERID", "")
    status = fields.get("STATUS", "")
    if not order_id or not status:
        raise WebhookParseError("paytm", "ORDERID and STATUS are required")
    code = fields.get("RESPCODE", "")
    message = fields.get("RESPMSG", "")
    ref_id = fields.get("REFID")
    if ref_id:
        refund = refund_outcome_from(status, code, message, fields.get("REFUNDID") or None)
        event_id = f"paytm:{order_id}:refund:{ref_id}:{status}:{code}"
        return WebhookEvent(
            GatewayName.PAYTM, event_id, order_id, "refund", refund_id=ref_id, refund=refund
        )
    charge = outcome_from_txn(status, code, message, fields)
    event_id = f"paytm:{order_id}:{fields.get('TXNID', '')}:{status}:{code}"
    return WebhookEvent(GatewayName.PAYTM, event_id, order_id, "charge", charge)


def verify_webhook(body: bytes, key: str) -> bool:
    """Check ``CHECKSUMHASH`` over the other form fields with the merchant key."""
    try:
        fields = decode_form(body)
    except UnicodeDecodeError:
        return False
    signature = fields.get(checksum.CHECKSUM_FIELD)
    if not signature:
        return False
    return checksum.verify_params(dict(fields), key, signature)
