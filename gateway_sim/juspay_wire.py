"""How the simulated Juspay renders its objects: orders, refunds, webhook events."""

from __future__ import annotations

import functools
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from gateway_sim.state import Merchant, Order, OrderState, Refund, RefundState
from gateway_sim.webhooks import Notification
from payments.gateways.juspay import STATUS_IDS
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


def refund_json(order: Order, refund: Refund) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": refund.refund_id,
        "ref": refund.refund_id.upper(),
        "unique_request_id": refund.request_id,
        "amount": amount(refund.amount, order.currency),
        "status": REFUND_STATUS[refund.state],
        "created": iso(refund.created_at),
    }
    if refund.state is RefundState.FAILED:
        doc["error_code"] = "refund_failed"
        doc["error_message"] = "Refund declined by the bank"
    return doc


def order_json(order: Order) -> dict[str, Any]:
    status = status_name(order)
    refunded = order.refunded_amount(settled_only=True)
    doc: dict[str, Any] = {
        "id": order.id,
        "order_id": order.order_id,
        "merchant_id": order.merchant_id,
        "customer_id": order.customer_id,
        "status": status,
        "status_id": STATUS_IDS.get(status, 0),
        "amount": amount(order.amount, order.currency),
        "currency": order.currency,
        "amount_refunded": amount(refunded, order.currency),
        "refunded": refunded > 0 and refunded >= order.amount,
        "date_created": iso(order.created_at),
        "udf1": order.reference,
        "refunds": [refund_json(order, r) for r in order.refunds.values()],
    }
    if order.txn_id:
        doc["txn_id"] = order.txn_id
        doc["txn_uuid"] = "eul" + order.txn_id[4:]
        doc["payment_method_type"] = METHOD_TYPES.get(order.payment_method, "CARD")
        doc["payment_gateway_response"] = {
            "resp_code": order.decline_code or "00",
            "resp_message": order.decline_message or "Transaction successful",
            "rrn": order.txn_id[-12:],
            "epg_txn_id": order.txn_id.upper(),
        }
    if order.state is OrderState.FAILED:
        doc["bank_error_code"] = order.decline_code
        doc["bank_error_message"] = order.decline_message
    return doc


def txn_json(order: Order) -> dict[str, Any]:
    status = status_name(order)
    doc: dict[str, Any] = {
        "order_id": order.order_id,
        "txn_id": order.txn_id,
        "txn_uuid": "eul" + order.txn_id[4:],
        "status": status,
        "status_id": STATUS_IDS.get(status, 0),
        "payment": {
            "authentication": {
                "method": "GET",
                "url": f"https://sandbox.juspay.example/pay/{order.txn_id}",
            }
        },
    }
    if order.state is OrderState.FAILED:
        doc["error_code"] = order.decline_code
        doc["error_message"] = order.decline_message
    return doc


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
