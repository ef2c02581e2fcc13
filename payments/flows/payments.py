"""Create, confirm, read, list and sync payments."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from payments import gateways, sql
from payments.auth import authenticate
from payments.context import ApiRequest, Context
from payments.effects import CacheGet, Flow, Query, Response, cache_value_body
from payments.errors import Conflict
from payments.flows import refunds
from payments.flows.common import (
    cache_payment,
    load_payment,
    new_attempt_id,
    new_id,
    payment_cache_key,
    settle_attempt,
    sync_attempt,
)
from payments.gateways.base import ChargeRequest
from payments.idempotency import fingerprint, idempotent
from payments.models import Merchant, Row, encode_json, payment_json
from payments.validation import (
    CreatePayment,
    parse_json_object,
    validate_create,
    validate_empty,
    validate_idempotency_key,
    validate_object_id,
    validate_order_id_query,
)


def create_payment(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``POST /v1/payments``: create, and with ``"confirm": true`` charge at once."""
    merchant = yield from authenticate(req.authorization, ctx.merchants)
    key = validate_idempotency_key(req.idempotency_key)
    data = validate_create(req.body, ctx.settings.currencies)
    digest = ""  # without a key nothing is stored: no second parse and hash of the body
    if key is not None:
        digest = fingerprint(req.method, req.path, parse_json_object(req.body))
    return (yield from idempotent(merchant.id, key, digest, _create(ctx, merchant, data)))


def _create(ctx: Context, merchant: Merchant, data: CreatePayment) -> Flow[Response]:
    args = (
        new_id(ctx, "pay"),
        merchant.id,
        data.order_id,
        data.amount,
        data.currency,
        data.gateway.value,
        data.payment_method,
        data.description,
        data.customer_id,
        json.dumps(dict(data.metadata)),
    )
    if data.confirm:
        # created -> processing and the attempt in the INSERT itself: one round trip
        attempt_id = new_attempt_id(ctx)
        row = yield Query(sql.INSERT_PAYMENT_WITH_ATTEMPT, (*args, attempt_id))
        if row is None:
            raise _order_taken(data.order_id)
        row = yield from _call_gateway(ctx, merchant, row, attempt_id)
    else:
        row = yield Query(sql.INSERT_PAYMENT, args)
        if row is None:
            raise _order_taken(data.order_id)
    body = yield from cache_payment(ctx, row)
    return Response(201, body)


def _order_taken(order_id: str) -> Conflict:
    return Conflict(f"a payment for order_id {order_id} already exists", code="duplicate_order_id")


def _charge(ctx: Context, merchant: Merchant, payment: Row) -> Flow[dict[str, Any]]:
    """created -> processing, call the gateway outside any transaction, settle."""
    attempt_id = new_attempt_id(ctx)
    started = yield Query(sql.BEGIN_ATTEMPT, (payment["id"], merchant.id, attempt_id))
    if started is None:
        current = yield from load_payment(merchant.id, payment["id"])
        raise Conflict(
            f"payment is {current['status']} and cannot be confirmed", code="invalid_state"
        )
    return (yield from _call_gateway(ctx, merchant, payment, attempt_id))


def _call_gateway(
    ctx: Context, merchant: Merchant, payment: Row, attempt_id: str
) -> Flow[dict[str, Any]]:
    """Charge a payment's begun attempt, outside any transaction, and settle it."""
    outcome = yield from gateways.charge_flow(
        merchant.credentials(payment["gateway"]),
        ChargeRequest(
            attempt_id=attempt_id,
            amount=payment["amount"],
            currency=payment["currency"],
            payment_method=payment["payment_method"],
            customer_id=payment["customer_id"] or "guest",
            # lets the gateway's ledger group attempts of one payment
            reference=payment["id"],
        ),
        now=ctx.clock.time,
    )
    return (yield from settle_attempt(merchant.id, payment["id"], attempt_id, outcome))


Action = Callable[[Context, Merchant, str], Flow[Response]]


def _payment_action(ctx: Context, req: ApiRequest, action: Action) -> Flow[Response]:
    """A body-less, idempotent ``POST /v1/payments/{id}/<action>``."""
    merchant = yield from authenticate(req.authorization, ctx.merchants)
    key = validate_idempotency_key(req.idempotency_key)
    validate_empty(req.body)
    payment_id = validate_object_id(req.params["payment_id"], "pay_")
    digest = fingerprint(req.method, req.path, {}) if key is not None else ""
    return (yield from idempotent(merchant.id, key, digest, action(ctx, merchant, payment_id)))


def confirm_payment(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``POST /v1/payments/{id}/confirm``.

    Confirming a payment whose attempt is unsettled asks the gateway first
    (Juspay's rule against double charges) instead of charging again.
    """
    return (yield from _payment_action(ctx, req, _confirm))


def _confirm(ctx: Context, merchant: Merchant, payment_id: str) -> Flow[Response]:
    row = yield from load_payment(merchant.id, payment_id)
    if row["status"] == "created":
        row = yield from _charge(ctx, merchant, row)
    elif row["status"] == "processing":
        row = yield from sync_attempt(ctx, merchant, row)
    else:
        raise Conflict(f"payment is {row['status']} and cannot be confirmed",
                       code="invalid_state")
    body = yield from cache_payment(ctx, row)
    return Response(200, body)


def get_payment(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``GET /v1/payments/{id}``, read through the cache."""
    merchant = yield from authenticate(req.authorization, ctx.merchants)
    payment_id = validate_object_id(req.params["payment_id"], "pay_")
    cached = yield CacheGet(payment_cache_key(merchant.id, payment_id))
    if cached is not None:
        return Response(200, cache_value_body(cached))
    row = yield from load_payment(merchant.id, payment_id)
    body = yield from cache_payment(ctx, row)
    return Response(200, body)


def list_payments(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``GET /v1/payments?order_id=``: the merchant's payment for an order id."""
    merchant = yield from authenticate(req.authorization, ctx.merchants)
    order_id = validate_order_id_query(req.query.get("order_id"))
    row = yield Query(sql.GET_PAYMENT_BY_ORDER, (merchant.id, order_id))
    data = [payment_json(row)] if row is not None else []
    return Response(200, encode_json({"object": "list", "data": data}))


def sync_payment(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``POST /v1/payments/{id}/sync``: settle from the gateway's status API."""
    return (yield from _payment_action(ctx, req, _sync))


def _sync(ctx: Context, merchant: Merchant, payment_id: str) -> Flow[Response]:
    row = yield from load_payment(merchant.id, payment_id)
    row = yield from sync_attempt(ctx, merchant, row)
    if (yield from refunds.sync_refunds_of(ctx, merchant, row["id"])):
        row = yield from load_payment(merchant.id, payment_id)
    body = yield from cache_payment(ctx, row)
    return Response(200, body)
