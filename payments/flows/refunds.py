"""Refunds: never more than captured, even under concurrent requests.

The amount is reserved on the payment row by one compare-and-set statement
before the gateway is called (``sql.RESERVE_REFUND``); a failed refund frees
its reservation, a successful one turns it into refunded money.
"""

from __future__ import annotations

from typing import Any

from payments import gateways, sql
from payments.auth import authenticate
from payments.context import ApiRequest, Context
from payments.effects import Flow, Query, Response
from payments.errors import Conflict, NotFound, RefundExceedsAmount
from payments.flows.common import cache_payment, load_payment, new_id
from payments.gateways.base import RefundOutcome, RefundRequest
from payments.idempotency import fingerprint, idempotent
from payments.models import Merchant, Row, encode_json, refund_json
from payments.states import REFUNDABLE, PaymentStatus
from payments.validation import (
    CreateRefund,
    parse_json_object,
    validate_idempotency_key,
    validate_object_id,
    validate_refund,
)


def create_refund(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``POST /v1/payments/{id}/refunds``."""
    merchant = yield from authenticate(req.authorization, ctx.merchants)
    key = validate_idempotency_key(req.idempotency_key)
    data = validate_refund(req.body)
    payment_id = validate_object_id(req.params["payment_id"], "pay_")
    digest = ""  # without a key nothing is stored: no second parse and hash of the body
    if key is not None:
        digest = fingerprint(req.method, req.path, parse_json_object(req.body))
    work = _refund(ctx, merchant, payment_id, data)
    return (yield from idempotent(merchant.id, key, digest, work))


def _refund(
    ctx: Context, merchant: Merchant, payment_id: str, data: CreateRefund
) -> Flow[Response]:
    refund_id = new_id(ctx, "re")
    refund = yield Query(
        sql.RESERVE_REFUND, (payment_id, merchant.id, refund_id, data.amount, data.reason)
    )
    if refund is None:
        payment = yield from load_payment(merchant.id, payment_id)
        if PaymentStatus(payment["status"]) not in REFUNDABLE:
            raise Conflict(
                f"payment is {payment['status']}; only captured payments can be refunded",
                code="invalid_state",
            )
        left = payment["amount"] - payment["amount_refund_reserved"]
        raise RefundExceedsAmount(
            f"refund of {data.amount} exceeds the refundable amount {left}"
        )
    payment = yield from load_payment(merchant.id, payment_id)
    outcome = yield from gateways.refund_flow(
        merchant.credentials(payment["gateway"]), _refund_request(payment, refund)
    )
    refund = yield from settle_refund(ctx, merchant.id, refund["id"], outcome)
    return Response(201, encode_json(refund_json(refund)))


def _refund_request(payment: Row, refund: Row) -> RefundRequest:
    return RefundRequest(
        refund_id=refund["id"],
        attempt_id=payment["attempt_id"],
        gateway_txn_id=payment["gateway_txn_id"],
        amount=refund["amount"],
        currency=refund["currency"],
    )


def settle_refund(
    ctx: Context, merchant_id: str, refund_id: str, outcome: RefundOutcome
) -> Flow[dict[str, Any]]:
    """Record a gateway answer about a refund (compare-and-set) and refresh the cache."""
    row = yield Query(
        sql.SETTLE_REFUND,
        (
            refund_id,
            outcome.status.value,
            outcome.gateway_refund_id,
            outcome.error_code,
            outcome.error_message,
        ),
    )
    if row is None:
        row = yield Query(sql.GET_REFUND_BY_ID, (refund_id,))
        if row is None:
            raise NotFound(f"no such refund: {refund_id}")
    payment = yield from load_payment(merchant_id, row["payment_id"])
    yield from cache_payment(ctx, payment)
    result: dict[str, Any] = row
    return result


def sync_refund(ctx: Context, merchant: Merchant, refund: Row) -> Flow[dict[str, Any]]:
    payment = yield from load_payment(merchant.id, refund["payment_id"])
    outcome = yield from gateways.refund_status_flow(
        merchant.credentials(payment["gateway"]), _refund_request(payment, refund)
    )
    return (yield from settle_refund(ctx, merchant.id, refund["id"], outcome))


def sync_refunds_of(ctx: Context, merchant: Merchant, payment_id: str) -> Flow[bool]:
    """Settle the payment's unsettled refunds; True when there were any."""
    rows = yield Query(sql.UNSETTLED_REFUNDS_OF_PAYMENT, (payment_id,), fetch="all")
    for row in rows:
        yield from sync_refund(ctx, merchant, row)
    return bool(rows)


def get_refund(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``GET /v1/refunds/{id}``."""
    merchant = yield from authenticate(req.authorization, ctx.merchants)
    refund_id = validate_object_id(req.params["refund_id"], "re_")
    row = yield Query(sql.GET_REFUND, (refund_id, merchant.id))
    if row is None:
        raise NotFound(f"no such refund: {refund_id}")
    return Response(200, encode_json(refund_json(row)))
