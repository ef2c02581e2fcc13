"""How the simulated Juspay renders its objects: orders, refunds, webhook events."""

from __future__ import annotations

import functools
import json
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from gateway_sim.state import Merchant, Order, OrderState, Refund, RefundState
from gateway_sim.webhooks import Notification
from payments.gateways.juspay import STATUS_IDS
from payments.gateways.juspay_webhooks import return_url_signature
from payments.gateways.wire import basic_auth
from payments.money import format_major

METHOD_TYPES = {"card": "CARD", "upi": "UPI", "netbanking": "NB", "wallet": "WALLET"}
REFUND_STATUS = {
    RefundState.PENDING: "PENDING",
    RefundState.SUCCEEDED: "SUCCESS",
    RefundState.FAILED: "FAILURE",
}


def iso(ts: float) -> str:
    return _iso_second(int(ts))


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    # Under load thousands of objects share a second; formatting once is cheaper.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_name(order: Order) -> str:
    if order.state is OrderState.NEW:
        return "NEW"
    if order.state is OrderState.PENDING:
        return "PENDING_VBV"
    if order.state is OrderState.CHARGED:
        return "CHARGED"
    return order.failure_status or "AUTHORIZATION_FAILED"


def amount(value: int, currency: str) -> float:
    # Juspay sends amounts as JSON numbers; the client parses them as decimals.
    return float(format_major(value, currency))


# Juspay's order object (Order Status API; the refund, webhook and legacy
# /order/status replies carry the same object): present on every order.
ORDER_FIELDS = (
    "id", "order_id", "merchant_id", "customer_id", "customer_email", "customer_phone",
    "product_id", "description", "status", "status_id", "amount", "currency", "date_created",
    "return_url", "payment_links", *(f"udf{i}" for i in range(1, 11)), "refunded",
    "amount_refunded", "effective_amount", "refunds",
)  # fmt: skip
# ... and once a transaction exists (plus "card" for card payments).
TXN_FIELDS = (
    "txn_id", "txn_uuid", "payment_method_type", "payment_method", "auth_type", "resp_code",
    "resp_message", "bank_error_code", "bank_error_message", "gateway_id", "txn_detail",
    "payment_gateway_response",
)  # fmt: skip
# Fields a caller may set at order creation and sees again in the order object.
ORDER_INPUTS = (
    "customer_email", "customer_phone", "product_id", "description", "return_url",
    *(f"udf{i}" for i in range(2, 11)),
)  # fmt: skip
LINK_BASE = "https://sandbox.juspay.example/merchant"
GATEWAY, GATEWAY_ID = "DUMMY", 100  # Juspay's sandbox gateway


def payment_links(order: Order) -> dict[str, str]:
    return {
        "web": f"{LINK_BASE}/pay/{order.id}",
        "mobile": f"{LINK_BASE}/pay/{order.id}?mobile=true",
        "iframe": f"{LINK_BASE}/ipay/{order.id}",
    }


def refund_json(order: Order, refund: Refund) -> dict[str, Any]:
    failed = refund.state is RefundState.FAILED
    return {
        "id": refund.refund_id,
        "ref": refund.refund_id.upper(),
        "unique_request_id": refund.request_id,
        "amount": amount(refund.amount, order.currency),
        "status": REFUND_STATUS[refund.state],
        "created": iso(refund.created_at),
        "sent_to_gateway": refund.state is not RefundState.PENDING,
        "refund_type": "STANDARD",
        "refund_source": GATEWAY,
        "initiated_by": "API",
        "error_code": "refund_failed" if failed else None,
        "error_message": "Refund declined by the bank" if failed else None,
    }


def order_json(order: Order) -> dict[str, Any]:
    status = status_name(order)
    refunded = order.refunded_amount(settled_only=True)
    details = order.details
    value = amount(order.amount, order.currency)
    doc: dict[str, Any] = {
        "id": order.id,
        "order_id": order.order_id,
        "merchant_id": order.merchant_id,
        "customer_id": order.customer_id,
        "customer_email": details.get("customer_email", ""),
        "customer_phone": details.get("customer_phone", ""),
        "product_id": details.get("product_id", ""),
        "description": details.get("description", ""),
        "status": status,
        "status_id": STATUS_IDS.get(status, 0),
        "amount": value,
        "currency": order.currency,
        "date_created": iso(order.created_at),
        "return_url": details.get("return_url", ""),
        "payment_links": payment_links(order),
        "udf1": order.reference,
        **{f"udf{i}": details.get(f"udf{i}", "") for i in range(2, 11)},
        "refunded": refunded > 0 and refunded >= order.amount,
        "amount_refunded": amount(refunded, order.currency),
        "effective_amount": value,
        "refunds": [refund_json(order, r) for r in order.refunds.values()],
    }
    if order.txn_id:
        doc.update(_txn_fields(order, status, value))
    return doc


def _txn_fields(order: Order, status: str, value: float) -> dict[str, Any]:
    failed = order.state is OrderState.FAILED
    txn_uuid = "eul" + order.txn_id[4:]
    created = iso(order.created_at)
    doc: dict[str, Any] = {
        "txn_id": order.txn_id,
        "txn_uuid": txn_uuid,
        "payment_method_type": METHOD_TYPES.get(order.payment_method, "CARD"),
        "payment_method": order.method_name or METHOD_TYPES.get(order.payment_method, "CARD"),
        "auth_type": order.auth_type,
        "resp_code": order.decline_code if failed else None,
        "resp_message": order.decline_message if failed else None,
        "bank_error_code": order.decline_code if failed else "",
        "bank_error_message": order.decline_message if failed else "",
        "gateway_id": GATEWAY_ID,
        "txn_detail": {
            "txn_id": order.txn_id,
            "order_id": order.order_id,
            "status": status,
            "error_code": order.decline_code if failed else None,
            "error_message": order.decline_message if failed else "",
            "net_amount": value,
            "txn_amount": value,
            "currency": order.currency,
            "gateway_id": GATEWAY_ID,
            "gateway": GATEWAY,
            "express_checkout": False,
            "redirect": order.authenticating or order.auth_type == "THREE_DS",
            "txn_uuid": txn_uuid,
            "created": created,
        },
        "payment_gateway_response": {
            "resp_code": order.decline_code or "00",
            "resp_message": order.decline_message or "Transaction successful",
            "rrn": order.txn_id[-12:],
            "epg_txn_id": order.txn_id.upper(),
            "auth_id_code": "" if failed else order.txn_id[-6:].upper(),
            "txn_id": order.txn_id,
            "created": created,
        },
    }
    if order.payment_method == "card":
        doc["card"] = {
            "card_isin": "411111",
            "last_four_digits": order.card_last4 or "1111",
            "card_type": "CREDIT",
            "card_brand": "VISA",
            "card_issuer": "HDFC Bank",
            "name_on_card": "",
            "expiry_month": "12",
            "expiry_year": "2032",
            "card_reference": "",
            "card_fingerprint": "",
            "saved_to_locker": False,
            "using_saved_card": False,
        }
    return doc


def txn_json(order: Order, auth_url: str) -> dict[str, Any]:
    """The Payment Status Object of a ``POST /txns`` reply."""
    status = status_name(order)
    doc: dict[str, Any] = {
        "order_id": order.order_id,
        "txn_id": order.txn_id,
        "txn_uuid": "eul" + order.txn_id[4:],
        "status": status,
        "status_id": STATUS_IDS.get(status, 0),
        "payment": {"authentication": {"method": "GET", "url": auth_url}},
    }
    if order.state is OrderState.FAILED:
        doc["error_code"] = order.decline_code
        doc["error_message"] = order.decline_message
    return doc


def return_location(order: Order, response_key: str) -> str | None:
    """Where the browser goes after authentication: the return URL with signed parameters."""
    return_url = order.details.get("return_url", "")
    if not return_url:
        return None
    status = status_name(order)
    params = {"order_id": order.order_id, "status": status, "status_id": str(STATUS_IDS[status])}
    params["signature"] = return_url_signature(params, response_key)
    params["signature_algorithm"] = "HMAC-SHA256"
    return return_url + ("&" if "?" in return_url else "?") + urlencode(params)


def event_name(order: Order, refund: Refund | None) -> str:
    if refund is not None:
        return "ORDER_REFUNDED" if refund.state is RefundState.SUCCEEDED else "ORDER_REFUND_FAILED"
    if order.state is OrderState.CHARGED:
        return "ORDER_SUCCEEDED"
    if order.state is OrderState.FAILED:
        return "ORDER_FAILED"
    return "TXN_CREATED"


def notification(merchant: Merchant, order: Order, refund: Refund | None = None) -> Notification:
    """A JSON event with the merchant's webhook Basic credentials, as Juspay sends."""
    name = event_name(order, refund)
    content: dict[str, Any] = {"order": order_json(order)}
    if refund is not None:
        content["refund"] = refund_json(order, refund)
    event = {
        "id": "evt_" + secrets.token_hex(12),
        "event_name": name,
        "date_created": iso(order.created_at if refund is None else refund.created_at),
        "content": content,
    }
    headers = {"Content-Type": "application/json"}
    if merchant.webhook_username or merchant.webhook_password:
        headers["Authorization"] = basic_auth(merchant.webhook_username, merchant.webhook_password)
    return Notification(
        gateway="juspay",
        merchant_id=merchant.merchant_id,
        order_id=order.order_id,
        event_id=str(event["id"]),
        event=name,
        url=merchant.webhook_url,
        body=json.dumps(event, separators=(",", ":")).encode(),
        headers=headers,
    )
