"""The simulated Juspay API: /orders, /txns, /orders/{id}, /orders/{id}/refunds.

Bodies are form-encoded; auth is HTTP Basic with the API key as user and an
empty password, plus ``x-merchantid``. Errors are JSON
``{"status": ..., "error_code": ..., "error_message": ...}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from gateway_sim import lifecycle
from gateway_sim.hooks import EntryFault, RefundResult, TxnResult, plan_charge, plan_refund
from gateway_sim.juspay_wire import order_json, txn_json
from gateway_sim.runtime import STATE, SimState, reset_connection
from gateway_sim.state import Merchant, Order, OrderState
from payments.gateways.base import GatewayName
from payments.gateways.wire import header, parse_basic_auth
from payments.money import MAX_AMOUNT_MINOR, exponent, parse_major

# Real Juspay allows 21 alphanumerics; services use longer ids with _ and -.
ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
METHODS = {"CARD": "card", "UPI": "upi", "NB": "netbanking", "WALLET": "wallet"}


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body, separators=(",", ":")), content_type="application/json"
    )


def error(
    status: int, code: str, message: str, kind: str = "invalid_request_error"
) -> web.Response:
    return _json(status, {"status": kind, "error_code": code, "error_message": message})


def unauthorized() -> web.Response:
    return error(401, "access_denied", "Bad credentials", "error")


def entry_fault(fault: EntryFault) -> web.Response | None:
    if fault is EntryFault.RATE_LIMIT:
        return error(429, "too_many_requests", "Rate limit exceeded, retry later", "error")
    if fault is EntryFault.SERVER_ERROR:
        return error(500, "internal_server_error", "Something went wrong", "error")
    return None


def authenticate(state: SimState, request: web.Request) -> Merchant | None:
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


async def create_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.delay("auth")
    merchant = authenticate(state, request)
    if merchant is None:
        return unauthorized()
    form = await request.post()
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
    if state.orders.get(GatewayName.JUSPAY, merchant.merchant_id, order_id) is not None:
        return error(400, "duplicate_order_id", f"Order {order_id} already exists")
    plan = plan_charge(amount, "", state.profile.faults, state.rng, hooks=state.profile.hooks)
    fault = entry_fault(plan.entry)
    if fault is not None:
        return fault
    order = Order(
        gateway=GatewayName.JUSPAY,
        merchant_id=merchant.merchant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        plan=plan,
        customer_id=str(form.get("customer_id", "")),
        reference=str(form.get("udf1", "")),
    )
    state.orders.add(order)
    return _json(
        200,
        {
            "status": "NEW",
            "status_id": 10,
            "id": order.id,
            "order_id": order_id,
            "payment_links": {
                "web": f"https://sandbox.juspay.example/merchant/pay/{order.id}",
                "mobile": f"https://sandbox.juspay.example/merchant/pay/{order.id}?mobile=true",
            },
        },
    )


async def create_txn(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    await state.delay("auth")
    merchant = authenticate(state, request)
    if merchant is None:
        return unauthorized()
    form = await request.post()
    order = state.orders.get(GatewayName.JUSPAY, merchant.merchant_id, str(form.get("order_id")))
    if order is None:
        return error(404, "order_not_found", "Order not found")
    if order.state is not OrderState.NEW:
        return error(400, "order_already_processed", "A transaction exists for this order")
    method = METHODS.get(str(form.get("payment_method_type", "CARD")), "card")
    lifecycle.refine_plan(state, order, method)
    result = lifecycle.start_txn(state, merchant, order, method)
    if result is TxnResult.SERVER_ERROR:
        return error(500, "internal_server_error", "Something went wrong", "error")
    if result is TxnResult.RESET:
        reset_connection(request)
        return web.Response(status=200)
    if result is TxnResult.AMBIGUOUS_TIMEOUT:
        await state.stall()
    return _json(200, txn_json(order))


def _find(state: SimState, merchant: Merchant, request: web.Request) -> Order | None:
    return state.orders.get(
        GatewayName.JUSPAY, merchant.merchant_id, request.match_info["order_id"]
    )


async def order_status(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.delay("status")
    merchant = authenticate(state, request)
    if merchant is None:
        return unauthorized()
    fault = entry_fault(state.call_fault())
    if fault is not None:
        return fault
    order = _find(state, merchant, request)
    if order is None:
        return _json(
            404,
            {
                "status": "NOT_FOUND",
                "status_id": 40,
                "error_code": "not_found",
                "error_message": "Order not found",
            },
        )
    return _json(200, order_json(order))


async def create_refund(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.delay("refund")
    merchant = authenticate(state, request)
    if merchant is None:
        return unauthorized()
    order = _find(state, merchant, request)
    if order is None:
        return error(404, "order_not_found", "Order not found")
    form = await request.post()
    request_id = str(form.get("unique_request_id", ""))
    if not request_id or len(request_id) > 255:
        return error(400, "invalid_request", "unique_request_id is required")
    try:
        amount = parse_major(str(form.get("amount", "")), order.currency)
    except ValueError as exc:
        return error(400, "invalid_refund_amount", str(exc))
    existing = order.refunds.get(request_id)
    if existing is not None:
        # Juspay's idempotency: the same unique_request_id returns the same refund.
        if existing.amount != amount:
            return error(400, "duplicate_request_id", "unique_request_id used with another amount")
        return _json(200, order_json(order))
    if order.state is not OrderState.CHARGED:
        return error(400, "order_not_charged", f"Order is {order.state.value}, not CHARGED")
    if amount <= 0 or amount > order.amount - order.refunded_amount():
        return error(400, "invalid_refund_amount", "Refund amount exceeds the refundable amount")
    result = plan_refund(amount, state.profile.faults, state.rng, hooks=state.profile.hooks)
    if result is RefundResult.SERVER_ERROR:
        return error(500, "internal_server_error", "Something went wrong", "error")
    lifecycle.open_refund(
        state, merchant, order, request_id=request_id, amount=amount, result=result
    )
    if result is RefundResult.STALL:
        await state.stall()
    return _json(200, order_json(order))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/orders", create_order)
    app.router.add_post("/txns", create_txn)
    app.router.add_get("/orders/{order_id}", order_status)
    app.router.add_post("/orders/{order_id}/refunds", create_refund)
