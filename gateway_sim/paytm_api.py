"""The simulated Paytm API: initiate/process transaction, order status, refunds.

Every request is ``{"head": ..., "body": ...}`` JSON. Signed calls carry
``head.signature``, Paytm's checksum of the exact body text with the merchant
key; a missing merchant or a bad signature gets result code 330.
``processTransaction`` is authorised by the ``txnToken`` from initiation.
Replies are signed with the merchant key. Faults (429, 5xx) are plain HTTP.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from gateway_sim import lifecycle, paytm_wire
from gateway_sim.hooks import EntryFault, RefundResult, TxnResult, plan_charge, plan_refund
from gateway_sim.juspay_api import ORDER_ID_RE
from gateway_sim.paytm_wire import result
from gateway_sim.runtime import STATE, SimState, reset_connection
from gateway_sim.state import Merchant, Order, OrderState
from payments.gateways import checksum, paytm, paytm_envelope
from payments.gateways.base import GatewayName
from payments.gateways.wire import JSON_TYPE, as_str
from payments.money import MAX_AMOUNT_MINOR, exponent, parse_major

CODE_BAD_REQUEST = "1001"
CODE_BAD_TOKEN = "1006"


def reply(body: dict[str, Any], key: str | None, status: int = 200) -> web.Response:
    return web.Response(status=status, body=paytm_wire.response(body, key), content_type=JSON_TYPE)


def failure(code: str, message: str, key: str | None = None, status: int = 200) -> web.Response:
    return reply({"resultInfo": result("F", code, message)}, key, status)


def http_fault(fault: EntryFault) -> web.Response | None:
    if fault is EntryFault.RATE_LIMIT:
        return failure("429", "Too many requests", status=429)
    if fault is EntryFault.SERVER_ERROR:
        return failure(paytm.CODE_SYSTEM_ERROR, "System Error", status=500)
    return None


async def _envelope(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, Any], str] | web.Response:
    raw = await request.read()
    env = paytm_envelope.open_envelope(raw)
    if env is None:
        return failure(CODE_BAD_REQUEST, "Request body is not a Paytm JSON envelope", status=400)
    return env


async def signed(
    state: SimState, request: web.Request
) -> tuple[Merchant, dict[str, Any]] | web.Response:
    """The merchant and body of a signed request, or the error reply."""
    env = await _envelope(request)
    if isinstance(env, web.Response):
        return env
    head, body, body_text = env
    mid = as_str(body.get("mid")) or request.query.get("mid", "")
    merchant = state.registry.paytm_by_mid.get(mid)
    signature = as_str(head.get("signature")) or ""
    if merchant is None or not checksum.verify_string(body_text, merchant.api_key, signature):
        return failure(paytm.CODE_CHECKSUM_INVALID, "Checksum provided is invalid")
    return merchant, body


async def initiate(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.delay("auth")
    got = await signed(state, request)
    if isinstance(got, web.Response):
        return got
    merchant, body = got
    key = merchant.api_key
    order_id = as_str(body.get("orderId")) or ""
    txn_amount = body.get("txnAmount")
    txn_amount = txn_amount if isinstance(txn_amount, dict) else {}
    currency = as_str(txn_amount.get("currency")) or "INR"
    if not ORDER_ID_RE.match(order_id):
        return failure(CODE_BAD_REQUEST, "orderId must be 1-64 of [A-Za-z0-9_-]", key)
    try:
        exponent(currency)
        amount = parse_major(as_str(txn_amount.get("value")) or "", currency)
    except ValueError as exc:
        return failure(CODE_BAD_REQUEST, str(exc), key)
    if not 0 < amount <= MAX_AMOUNT_MINOR:
        return failure(CODE_BAD_REQUEST, "txnAmount must be positive", key)
    existing = state.orders.get(GatewayName.PAYTM, merchant.merchant_id, order_id)
    if existing is not None:
        return reply(
            {
                "resultInfo": result("S", paytm.CODE_DUPLICATE_ORDER, "Success Idempotent"),
                "txnToken": existing.txn_token,
                "isPromoCodeValid": False,
                "authenticated": False,
            },
            key,
        )
    plan = plan_charge(amount, "", state.profile.faults, state.rng, hooks=state.profile.hooks)
    fault = http_fault(plan.entry)
    if fault is not None:
        return fault
    user = body.get("userInfo")
    extend = body.get("extendInfo")
    order = Order(
        gateway=GatewayName.PAYTM,
        merchant_id=merchant.merchant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        plan=plan,
        customer_id=(as_str(user.get("custId")) or "") if isinstance(user, dict) else "",
        reference=(as_str(extend.get("mercUnqRef")) or "") if isinstance(extend, dict) else "",
        txn_token=secrets.token_hex(16),
    )
    state.orders.add(order)
    return reply(
        {
            "resultInfo": result("S", paytm.CODE_OK, "Success"),
            "txnToken": order.txn_token,
            "isPromoCodeValid": False,
            "authenticated": False,
        },
        key,
    )


async def process(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    await state.delay("auth")
    env = await _envelope(request)
    if isinstance(env, web.Response):
        return env
    head, body, _ = env
    mid = as_str(body.get("mid")) or request.query.get("mid", "")
    order_id = as_str(body.get("orderId")) or request.query.get("orderId", "")
    merchant = state.registry.paytm_by_mid.get(mid)
    order = state.orders.get(GatewayName.PAYTM, mid, order_id) if merchant else None
    token = as_str(head.get("txnToken")) or ""
    if merchant is None or order is None or not secrets.compare_digest(token, order.txn_token):
        return failure(CODE_BAD_TOKEN, "Invalid txnToken or order")
    key = merchant.api_key
    if order.state is not OrderState.NEW:
        return failure(paytm.CODE_ORDER_CLOSED, "Order is closed", key)
    mode = as_str(body.get("paymentMode")) or "CREDIT_CARD"
    method = paytm_wire.PROCESS_MODES.get(mode, "card")
    lifecycle.refine_plan(state, order, method)
    outcome = lifecycle.start_txn(state, merchant, order, method)
    if outcome is TxnResult.SERVER_ERROR:
        return failure(paytm.CODE_SYSTEM_ERROR, "System Error", status=500)
    if outcome is TxnResult.RESET:
        reset_connection(request)
        return web.Response(status=200)
    if outcome is TxnResult.AMBIGUOUS_TIMEOUT:
        await state.stall()
    return reply(
        {
            "resultInfo": result("S", paytm.CODE_OK, "Success"),
            "txnInfo": paytm_wire.txn_fields(order),
            "callBackUrl": "",
        },
        key,
    )


async def _status_call(
    request: web.Request,
) -> tuple[SimState, Merchant, dict[str, Any]] | web.Response:
    """A signed status query after its latency and any injected fault; or the error reply."""
    state = request.app[STATE]
    await state.delay("status")
    got = await signed(state, request)
    if isinstance(got, web.Response):
        return got
    fault = http_fault(state.call_fault())
    if fault is not None:
        return fault
    merchant, body = got
    return state, merchant, body


async def order_status(request: web.Request) -> web.Response:
    admitted = await _status_call(request)
    if isinstance(admitted, web.Response):
        return admitted
    state, merchant, body = admitted
    order_id = as_str(body.get("orderId")) or ""
    order = state.orders.get(GatewayName.PAYTM, merchant.merchant_id, order_id)
    if order is None:
        return reply(
            {
                "resultInfo": result("NO_RECORD_FOUND", paytm.CODE_NO_RECORD, "No Record Found"),
                "orderId": order_id,
                "mid": merchant.merchant_id,
            },
            merchant.api_key,
        )
    return reply(paytm_wire.status_body(order), merchant.api_key)


def _order_for_refund(state: SimState, merchant: Merchant, body: dict[str, Any]) -> Order | None:
    order_id = as_str(body.get("orderId")) or ""
    return state.orders.get(GatewayName.PAYTM, merchant.merchant_id, order_id)


async def refund(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.delay("refund")
    got = await signed(state, request)
    if isinstance(got, web.Response):
        return got
    merchant, body = got
    key = merchant.api_key
    order = _order_for_refund(state, merchant, body)
    if order is None:
        return failure(paytm.CODE_NO_RECORD, "No Record Found", key)
    ref_id = as_str(body.get("refId")) or ""
    if not ref_id or len(ref_id) > 255:
        return failure(CODE_BAD_REQUEST, "refId is required", key)
    try:
        amount = parse_major(as_str(body.get("refundAmount")) or "", order.currency)
    except ValueError as exc:
        return failure(CODE_BAD_REQUEST, str(exc), key)
    if ref_id in order.refunds:
        return failure(paytm.CODE_REFUND_DUPLICATE, "Refund already raised for this refId", key)
    txn_id = as_str(body.get("txnId")) or ""
    if order.state is not OrderState.CHARGED or (txn_id and txn_id != order.txn_id):
        return failure(paytm.CODE_REFUND_NOT_ALLOWED, "Transaction is not refundable", key)
    if amount <= 0 or amount > order.amount - order.refunded_amount():
        return failure(paytm.CODE_REFUND_OVER, "Refund amount exceeds the refundable amount", key)
    outcome = plan_refund(amount, state.profile.faults, state.rng, hooks=state.profile.hooks)
    if outcome is RefundResult.SERVER_ERROR:
        return failure(paytm.CODE_SYSTEM_ERROR, "System Error", status=500)
    accepted = lifecycle.open_refund(
        state, merchant, order, request_id=ref_id, amount=amount, result=outcome
    )
    if outcome is RefundResult.STALL:
        await state.stall()
    return reply(paytm_wire.refund_body(order, accepted), key)


async def refund_status(request: web.Request) -> web.Response:
    admitted = await _status_call(request)
    if isinstance(admitted, web.Response):
        return admitted
    state, merchant, body = admitted
    order = _order_for_refund(state, merchant, body)
    ref_id = as_str(body.get("refId")) or ""
    found = order.refunds.get(ref_id) if order is not None else None
    if order is None or found is None:
        return reply(
            {
                "resultInfo": result(
                    "TXN_FAILURE", paytm.CODE_REFUND_NO_RECORD, "Record not found"
                ),
                "refId": ref_id,
                "mid": merchant.merchant_id,
            },
            merchant.api_key,
        )
    return reply(paytm_wire.refund_body(order, found), merchant.api_key)


def add_routes(app: web.Application) -> None:
    app.router.add_post(paytm.INITIATE_PATH, initiate)
    app.router.add_post(paytm.PROCESS_PATH, process)
    app.router.add_post(paytm.ORDER_STATUS_PATH, order_status)
    app.router.add_post(paytm.REFUND_PATH, refund)
    app.router.add_post(paytm.REFUND_STATUS_PATH, refund_status)
