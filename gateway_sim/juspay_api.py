"""The simulated Juspay API: orders, order status and refunds (``/txns``: ``juspay_txns``).

Bodies are form-encoded; auth is HTTP Basic with the API key as user and an
empty password, plus ``x-merchantid``. Errors are JSON
``{"status": ..., "error_code": ..., "error_message": ...}``.

Every handler first *identifies* its call (``gateway_sim.draws``) without
changing anything, then sleeps the call's latency, then checks and acts in
one synchronous step, so concurrent calls never see half a change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_sim import lifecycle
from gateway_sim.draws import CallKey
from gateway_sim.hooks import EntryFault, RefundResult
from gateway_sim.http import HTTPGatewayTimeout, Response, Router
from gateway_sim.juspay_wire import ORDER_INPUTS, order_json, payment_links
from gateway_sim.runtime import SimRequest, SimState
from gateway_sim.state import Merchant, Order, OrderState
from payments.gateways.base import GatewayName
from payments.gateways.wire import header, parse_basic_auth
from payments.money import MAX_AMOUNT_MINOR, exponent, parse_major

# Real Juspay allows 21 alphanumerics; services use longer ids with _ and -.
ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JUSPAY = GatewayName.JUSPAY


_encode_json = json.JSONEncoder(separators=(",", ":")).encode


def json_reply(status: int, body: Mapping[str, Any], **headers: str) -> Response:
    # Bytes and a ready Content-Type: encoded once, never parsed again.
    return Response(
        status=status,
        body=_encode_json(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def error(status: int, code: str, message: str, kind: str = "invalid_request_error") -> Response:
    return json_reply(status, {"status": kind, "error_code": code, "error_message": message})


def unauthorized() -> Response:
    return error(401, "access_denied", "Bad credentials", "error")


def entry_fault(fault: EntryFault) -> Response | None:
    if fault is EntryFault.RATE_LIMIT:
        return error(429, "too_many_requests", "Rate limit exceeded, retry later", "error")
    if fault is EntryFault.SERVER_ERROR:
        return error(500, "internal_server_error", "Something went wrong", "error")
    return None


def authenticate(state: SimState, request: SimRequest) -> Merchant | None:
    creds = parse_basic_auth(request.headers.get("Authorization"))
    if creds is None:
        return None
    merchant = state.registry.juspay_by_key.get(creds[0])
    if merchant is None:
        return None
    mid = header(request.headers, "x-merchantid")
    if mid is not None and mid != merchant.merchant_id:
        return None
    return merchant


# -- orders ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderInput:
    order_id: str
    amount: int
    currency: str
    customer_id: str
    reference: str
    details: dict[str, str]


def parse_order(form: Mapping[str, Any]) -> OrderInput | Response:
    order_id = str(form.get("order_id", ""))
    currency = str(form.get("currency", "INR")) or "INR"
    if not ORDER_ID_RE.match(order_id):
        return error(400, "invalid_order_id", "order_id must be 1-64 of [A-Za-z0-9_-]")
    try:
        exponent(currency)
        amount = parse_major(str(form.get("amount", "")), currency)
    except ValueError as exc:
        return error(400, "invalid_amount", str(exc))
    if not 0 < amount <= MAX_AMOUNT_MINOR:
        return error(400, "invalid_amount", "amount must be positive")
    details = {k: str(form[k]) for k in ORDER_INPUTS if form.get(k)}
    return OrderInput(
        order_id, amount, currency, str(form.get("customer_id", "")),
        str(form.get("udf1", "")), details,
    )  # fmt: skip


def duplicate(order_id: str) -> Response:
    return error(400, "duplicate_order_id", f"Order {order_id} already exists")


async def create_order(request: SimRequest) -> Response:
    """``POST /orders`` (and the older ``POST /order/create``)."""
    state = request.state
    merchant = authenticate(state, request)
    form = await request.post()
    got = parse_order(form)
    key: CallKey | None = None
    # Only a valid new order is ranked: a repeated order id must not shift the ranks.
    if merchant is not None and isinstance(got, OrderInput):
        mid = merchant.merchant_id
        if state.orders.get(JUSPAY, mid, got.order_id) is None:
            key = state.draws.order_key(
                JUSPAY.value, mid, got.amount, got.currency, got.customer_id
            )
    try:
        await state.delay("auth", key)
    except HTTPGatewayTimeout:
        if key is not None and merchant is not None and isinstance(got, OrderInput):
            state.draws.refused(JUSPAY.value, merchant.merchant_id, got.order_id, key)
        raise
    if merchant is None:
        return unauthorized()
    if not isinstance(got, OrderInput):
        return got
    # Checked again after the sleep: a concurrent call may have created it meanwhile.
    if key is None or state.orders.get(JUSPAY, merchant.merchant_id, got.order_id) is not None:
        return duplicate(got.order_id)
    plan = state.charge_plan(key, got.amount)
    fault = entry_fault(plan.entry)
    if fault is not None:
        state.draws.refused(JUSPAY.value, merchant.merchant_id, got.order_id, key)
        return fault
    order = Order(
        gateway=JUSPAY,
        merchant_id=merchant.merchant_id,
        order_id=got.order_id,
        amount=got.amount,
        currency=got.currency,
        plan=plan,
        customer_id=got.customer_id,
        reference=got.reference,
        key=key,
        details=got.details,
    )
    state.orders.add(order)
    # The documented create-order reply: the order's ids, its status and payment links.
    return json_reply(
        200,
        {
            "status": "NEW",
            "status_id": 10,
            "id": order.id,
            "order_id": order.order_id,
            "payment_links": payment_links(order),
        },
    )


def not_found() -> Response:
    return json_reply(
        404,
        {
            "status": "NOT_FOUND",
            "status_id": 40,
            "error_code": "not_found",
            "error_message": "Order not found",
        },
    )


async def order_status(request: SimRequest) -> Response:
    """``GET /orders/{order_id}``."""
    return await status_of(request, request.match_info["order_id"])


async def status_of(request: SimRequest, order_id: str) -> Response:
    state = request.state
    merchant = authenticate(state, request)
    order = None
    key: CallKey | None = None
    if merchant is not None:
        order = state.orders.get(JUSPAY, merchant.merchant_id, order_id)
        if order is not None:
            key = (*order.key, "status", order.reads)
            order.reads += 1
        else:
            key = state.draws.missing_order_key(JUSPAY.value, merchant.merchant_id, order_id)
    await state.delay("status", key)
    if merchant is None or key is None:
        return unauthorized()
    fault = entry_fault(state.call_fault(key))
    if fault is not None:
        return fault
    if order is None:
        return not_found()
    return json_reply(200, order_json(order))


# -- refunds -----------------------------------------------------------------------


async def create_refund(request: SimRequest) -> Response:
    """``POST /orders/{order_id}/refunds``."""
    return await refund_of(request, request.match_info["order_id"], await request.post())


async def refund_of(request: SimRequest, order_id: str, form: Mapping[str, Any]) -> Response:
    state = request.state
    merchant = authenticate(state, request)
    order = None if merchant is None else state.orders.get(JUSPAY, merchant.merchant_id, order_id)
    request_id = str(form.get("unique_request_id", ""))
    amount: int | None = None
    problem: Response | None = None
    if order is not None:
        try:
            amount = parse_major(str(form.get("amount", "")), order.currency)
        except ValueError as exc:
            problem = error(400, "invalid_refund_amount", str(exc))
    if not request_id or len(request_id) > 255:
        problem = error(400, "invalid_request", "unique_request_id is required")
    key = refund_key(order, request_id, amount) if problem is None else None
    await state.delay("refund", key)
    if merchant is None:
        return unauthorized()
    if order is None:
        return error(404, "order_not_found", "Order not found")
    if problem is not None or key is None or amount is None:
        return problem or error(400, "invalid_request", "unique_request_id is required")
    existing = order.refunds.get(request_id)
    if existing is not None:
        # Juspay's idempotency: the same unique_request_id returns the same refund.
        if existing.amount != amount:
            return error(400, "duplicate_request_id", "unique_request_id used with another amount")
        return json_reply(200, order_json(order))
    if order.state is not OrderState.CHARGED:
        return error(400, "order_not_charged", f"Order is {order.state.value}, not CHARGED")
    if amount <= 0 or amount > order.amount - order.refunded_amount():
        return error(400, "invalid_refund_amount", "Refund amount exceeds the refundable amount")
    result = state.refund_plan(key, amount)
    if result is RefundResult.SERVER_ERROR:
        return error(500, "internal_server_error", "Something went wrong", "error")
    lifecycle.open_refund(
        state, merchant, order, request_id=request_id, amount=amount, result=result, key=key
    )
    if result is RefundResult.STALL:
        await state.stall()
    return json_reply(200, order_json(order))


def refund_key(order: Order | None, request_id: str, amount: int | None) -> CallKey | None:
    """A known request id keeps its refund's key; a new one ranks among equal amounts."""
    if order is None or amount is None:
        return None
    existing = order.refunds.get(request_id)
    if existing is not None:
        return existing.key
    rank = order.refund_ranks.get(amount, 0)
    order.refund_ranks[amount] = rank + 1
    return (*order.key, "refund", amount, rank)


def add_routes(router: Router[SimState]) -> None:
    router.add_post("/orders", create_order)
    router.add_get("/orders/{order_id}", order_status)
    router.add_post("/orders/{order_id}/refunds", create_refund)
