"""Juspay Express Checkout protocol: requests and response parsing.

A charge is ``POST /orders`` then ``POST /txns`` (form-encoded, HTTP Basic
with the API key as user and an empty password, ``x-merchantid`` and
``version`` headers). ``GET /orders/{order_id}`` is the source of truth, as
Juspay itself recommends after a timed-out transaction call. Refunds are
``POST /orders/{order_id}/refunds`` with ``unique_request_id``, which Juspay
deduplicates: repeating a refund flow with the same refund id is safe.
Webhooks and the return-URL signature: :mod:`payments.gateways.juspay_webhooks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from payments.gateways import outcomes
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
from payments.gateways.wire import (
    FORM_TYPE,
    as_str,
    basic_auth,
    decode_json_object,
    encode_form,
)
from payments.money import format_major, parse_major

API_VERSION = "2023-06-30"

STATUS_IDS: dict[str, int] = {
    "NEW": 10,
    "STARTED": 20,
    "CHARGED": 21,
    "JUSPAY_DECLINED": 22,
    "PENDING_VBV": 23,
    "AUTHENTICATION_FAILED": 26,
    "AUTHORIZATION_FAILED": 27,
    "AUTHORIZING": 28,
    "VOIDED": 31,
    "AUTO_REFUNDED": 36,
    "NOT_FOUND": 40,
}

SUCCEEDED_STATUSES = frozenset({"CHARGED", "AUTO_REFUNDED"})
# NEW is "order created, no payment yet": not final, the customer could still pay.
PENDING_STATUSES = frozenset({"NEW", "STARTED", "PENDING_VBV", "AUTHORIZING"})
FAILED_STATUSES = frozenset(
    {"JUSPAY_DECLINED", "AUTHENTICATION_FAILED", "AUTHORIZATION_FAILED", "VOIDED", "NOT_FOUND"}
)

# payment_method -> (payment_method_type, payment_method, extra /txns fields)
METHOD_FIELDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "card": ("CARD", "VISA", {"card_token": "tkn_test_visa", "auth_type": "THREE_DS"}),
    "upi": ("UPI", "UPI", {"txn_type": "UPI_COLLECT", "upi_vpa": "customer@upi"}),
    "netbanking": ("NB", "NB_HDFC", {}),
    "wallet": ("WALLET", "PAYTM", {"direct_wallet_token": "wtkn_test"}),
}

REFUND_STATUS_MAP: dict[str, RefundStatus] = {
    "PENDING": RefundStatus.PENDING,
    "MANUAL_REVIEW": RefundStatus.PENDING,
    "SUCCESS": RefundStatus.SUCCEEDED,
    "REFUNDED": RefundStatus.SUCCEEDED,
    "FAILURE": RefundStatus.FAILED,
    "FAILED": RefundStatus.FAILED,
}



def headers(creds: GatewayCredentials, *, form: bool = True) -> dict[str, str]:
    h = {
        "Authorization": basic_auth(creds.api_key, ""),
        "x-merchantid": creds.merchant_id,
        "version": API_VERSION,
        "Accept": "application/json",
    }
    if form:
        h["Content-Type"] = FORM_TYPE
    return h


def order_path(order_id: str) -> str:
    return f"/orders/{quote(order_id, safe='')}"


# -- request builders ------------------------------------------------------------


def create_order_request(creds: GatewayCredentials, req: ChargeRequest) -> HttpRequest:
    fields = {
        "order_id": req.attempt_id,
        "amount": format_major(req.amount, req.currency),
        "currency": req.currency,
        "customer_id": req.customer_id,
    }
    if req.customer_email:
        fields["customer_email"] = req.customer_email
    if req.return_url:
        fields["return_url"] = req.return_url
    if req.reference:
        fields["udf1"] = req.reference
    return HttpRequest(
        GatewayName.JUSPAY, "POST", "/orders", headers(creds), encode_form(fields), "auth"
    )


def create_txn_request(creds: GatewayCredentials, req: ChargeRequest) -> HttpRequest:
    method_type, method, extra = METHOD_FIELDS.get(req.payment_method, METHOD_FIELDS["card"])
    fields = {
        "order_id": req.attempt_id,
        "merchant_id": creds.merchant_id,
        "payment_method_type": method_type,
        "payment_method": method,
        "redirect_after_payment": "true",
        "format": "json",
        **extra,
    }
    return HttpRequest(
        GatewayName.JUSPAY, "POST", "/txns", headers(creds), encode_form(fields), "auth"
    )


def order_status_request(creds: GatewayCredentials, order_id: str) -> HttpRequest:
    return HttpRequest(
        GatewayName.JUSPAY, "GET", order_path(order_id), headers(creds, form=False), b"", "status"
    )


def refund_request(creds: GatewayCredentials, req: RefundRequest) -> HttpRequest:
    fields = {
        "unique_request_id": req.refund_id,
        "amount": format_major(req.amount, req.currency),
    }
    return HttpRequest(
        GatewayName.JUSPAY,
        "POST",
        order_path(req.attempt_id) + "/refunds",
        headers(creds),
        encode_form(fields),
        "refund",
    )


# -- response parsing --------------------------------------------------------------


def _amount(value: Any, currency: str | None) -> int | None:
    text = as_str(value)
    if text is None or not currency:
        return None
    try:
        return parse_major(text, currency)
    except ValueError:
        return None


def _error_fields(resp: HttpResponse) -> tuple[str, str]:
    body = decode_json_object(resp.body) or {}
    code = as_str(body.get("error_code")) or outcomes.http_code(resp)
    message = as_str(body.get("error_message")) or outcomes.snippet(resp)
    return code, message


def outcome_from_order(order: Mapping[str, Any]) -> ChargeOutcome:
    """Map an order or transaction object (``status`` plus details) to an outcome."""
    status = as_str(order.get("status")) or ""
    pgr = order.get("payment_gateway_response")
    pgr = pgr if isinstance(pgr, dict) else {}
    txn_id = as_str(order.get("txn_id"))
    amount = _amount(order.get("amount"), as_str(order.get("currency")))
    if status in SUCCEEDED_STATUSES:
        return ChargeOutcome(AttemptStatus.SUCCEEDED, txn_id, status, amount=amount)
    if status in PENDING_STATUSES:
        return ChargeOutcome(AttemptStatus.PENDING, txn_id, status, amount=amount)
    if status in FAILED_STATUSES:
        code = (
            as_str(order.get("bank_error_code"))
            or as_str(order.get("error_code"))
            or as_str(pgr.get("resp_code"))
            or status.lower()
        )
        message = (
            as_str(order.get("bank_error_message"))
            or as_str(order.get("error_message"))
            or as_str(pgr.get("resp_message"))
            or status
        )
        return ChargeOutcome(AttemptStatus.FAILED, txn_id, status, code, message, amount)
    # An unrecognised status is not evidence of failure.
    return ChargeOutcome(
        AttemptStatus.UNKNOWN, txn_id, status or None, "unexpected_status", status or "missing"
    )


def _charge_reply(reply: GatewayReply, *, query: bool = False) -> ChargeOutcome | dict[str, Any]:
    """Either a final outcome for a failed call, or the decoded JSON body of a 2xx."""
    if isinstance(reply, TransportError):
        return outcomes.charge_transport_outcome(reply, query=query)
    if outcomes.is_indeterminate(reply) or (query and reply.status >= 400 and reply.status != 404):
        code, message = _error_fields(reply)
        return ChargeOutcome(AttemptStatus.UNKNOWN, error_code=code, error_message=message)
    if reply.status >= 400:
        code, message = _error_fields(reply)
        gw_status = "NOT_FOUND" if reply.status == 404 else None
        return ChargeOutcome(
            AttemptStatus.FAILED, gateway_status=gw_status, error_code=code, error_message=message
        )
    body = decode_json_object(reply.body)
    if body is None:
        return ChargeOutcome(
            AttemptStatus.UNKNOWN,
            error_code="gateway_bad_response",
            error_message=outcomes.snippet(reply),
        )
    return body


def parse_order_status(reply: GatewayReply) -> ChargeOutcome:
    """Outcome of ``GET /orders/{id}``: 404 means no such order, so no charge."""
    parsed = _charge_reply(reply, query=True)
    if isinstance(parsed, ChargeOutcome):
        return parsed
    return outcome_from_order(parsed)


def _is_duplicate_order(reply: GatewayReply) -> bool:
    if isinstance(reply, TransportError) or reply.status != 400:
        return False
    body = decode_json_object(reply.body) or {}
    return as_str(body.get("error_code")) == "duplicate_order_id"


def parse_refund(reply: GatewayReply, refund_id: str, *, query: bool = False) -> RefundOutcome:
    """Outcome of a refund call, or of an order status read for ``refund_id``."""
    if isinstance(reply, TransportError):
        return outcomes.refund_transport_outcome(reply, query=query)
    if outcomes.is_indeterminate(reply) or (query and reply.status >= 400 and reply.status != 404):
        code, message = _error_fields(reply)
        return RefundOutcome(RefundStatus.UNKNOWN, error_code=code, error_message=message)
    if reply.status >= 400:
        code, message = _error_fields(reply)
        return RefundOutcome(RefundStatus.FAILED, error_code=code, error_message=message)
    body = decode_json_object(reply.body)
    if body is None:
        return RefundOutcome(RefundStatus.UNKNOWN, error_code="gateway_bad_response")
    refund = find_refund(body, refund_id)
    if refund is None:
        # The order exists but holds no refund with this id: it was never accepted.
        return RefundOutcome(
            RefundStatus.FAILED, error_code="refund_not_found", error_message=refund_id
        )
    return refund_outcome(refund)


def find_refund(order: Mapping[str, Any], refund_id: str) -> dict[str, Any] | None:
    refunds = order.get("refunds")
    if not isinstance(refunds, list):
        return None
    for item in refunds:
        if isinstance(item, dict) and as_str(item.get("unique_request_id")) == refund_id:
            return item
    return None


def refund_outcome(refund: Mapping[str, Any]) -> RefundOutcome:
    status = as_str(refund.get("status")) or ""
    mapped = REFUND_STATUS_MAP.get(status, RefundStatus.UNKNOWN)
    code = None
    message = None
    if mapped is RefundStatus.FAILED:
        code = as_str(refund.get("error_code")) or "refund_failed"
        message = as_str(refund.get("error_message")) or status
    return RefundOutcome(mapped, as_str(refund.get("id")), status or None, code, message)


# -- flows -----------------------------------------------------------------------


def charge_flow(creds: GatewayCredentials, req: ChargeRequest) -> GatewayFlow:
    """Create the order, then the transaction.

    If the order id already exists (a repeated attempt), the flow reads the
    order's status instead of sending a second transaction: Juspay's rule to
    avoid double charges.
    """
    reply = yield create_order_request(creds, req)
    if _is_duplicate_order(reply):
        return parse_order_status((yield order_status_request(creds, req.attempt_id)))
    parsed = _charge_reply(reply)
    if isinstance(parsed, ChargeOutcome):
        return parsed
    parsed = _charge_reply((yield create_txn_request(creds, req)))
    if isinstance(parsed, ChargeOutcome):
        return parsed
    outcome = outcome_from_order(parsed)
    if outcome.amount is None:
        outcome = ChargeOutcome(
            outcome.status,
            outcome.gateway_txn_id,
            outcome.gateway_status,
            outcome.error_code,
            outcome.error_message,
            req.amount if outcome.status is AttemptStatus.SUCCEEDED else None,
        )
    return outcome


def status_flow(creds: GatewayCredentials, attempt_id: str) -> GatewayFlow:
    """Ask for the order's status: the truth after a timeout or a webhook gap."""
    return parse_order_status((yield order_status_request(creds, attempt_id)))


def refund_flow(creds: GatewayCredentials, req: RefundRequest) -> RefundFlow:
    """Request a refund; Juspay deduplicates on ``unique_request_id``."""
    return parse_refund((yield refund_request(creds, req)), req.refund_id)


def refund_status_flow(creds: GatewayCredentials, req: RefundRequest) -> RefundFlow:
    """Read the order and find the refund by ``unique_request_id``."""
    reply = yield order_status_request(creds, req.attempt_id)
    return parse_refund(reply, req.refund_id, query=True)
