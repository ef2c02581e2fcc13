"""The simulated Paytm API: initiate/process transaction, order status, refunds.

Every request is ``{"head": ..., "body": ...}`` JSON. Signed calls carry
``head.signature``, Paytm's checksum of the exact body text with the merchant
key; a missing merchant or a bad signature gets result code 330.
``processTransaction`` is authorised by the ``txnToken`` from initiation.
Replies are signed with the merchant key. Faults (429, 5xx) are plain HTTP.

Paths: Paytm's documented ones (``payments.gateways.paytm``) and the ones
Paytm's own Python SDK (``paytm-pg``) calls, ``/order/initiate`` and
``/refund/apply``. As in ``juspay_api``, a call is identified first
(``gateway_sim.draws``), then sleeps its latency, then acts in one step.
"""

from __future__ import annotations

import secrets
from typing import Any

from gateway_sim import lifecycle, paytm_wire
from gateway_sim.draws import CallKey
from gateway_sim.hooks import EntryFault, RefundResult, TxnResult
from gateway_sim.http import HTTPGatewayTimeout, Response, Router
from gateway_sim.juspay_api import ORDER_ID_RE
from gateway_sim.paytm_wire import result
from gateway_sim.runtime import SimRequest, SimState, reset_connection
from gateway_sim.state import Merchant, Order, OrderState, Refund
from payments.gateways import checksum, paytm, paytm_envelope
from payments.gateways.base import GatewayName
from payments.gateways.wire import JSON_TYPE, as_str
from payments.money import MAX_AMOUNT_MINOR, exponent, parse_major

PAYTM = GatewayName.PAYTM
CODE_BAD_REQUEST = "1001"
CODE_BAD_TOKEN = "1006"


def reply(body: dict[str, Any], key: str | None, status: int = 200) -> Response:
    return Response(status=status, body=paytm_wire.response(body, key), content_type=JSON_TYPE)


def failure(code: str, message: str, key: str | None = None, status: int = 200) -> Response:
    return reply({"resultInfo": result("F", code, message)}, key, status)


def http_fault(fault: EntryFault) -> Response | None:
    if fault is EntryFault.RATE_LIMIT:
        return failure("429", "Too many requests", status=429)
    if fault is EntryFault.SERVER_ERROR:
        return failure(paytm.CODE_SYSTEM_ERROR, "System Error", status=500)
    return None


async def _envelope(
    request: SimRequest,
) -> tuple[dict[str, Any], dict[str, Any], str] | Response:
    raw = await request.read()
    env = paytm_envelope.open_envelope(raw)
    if env is None:
        return failure(CODE_BAD_REQUEST, "Request body is not a Paytm JSON envelope", status=400)
    return env


async def signed(
    state: SimState, request: SimRequest
) -> tuple[Merchant, dict[str, Any]] | Response:
    """The merchant and body of a signed request, or the error reply."""
    env = await _envelope(request)
    if isinstance(env, Response):
        return env
    head, body, body_text = env
    mid = as_str(body.get("mid")) or (request.query.get("mid") or "")
    merchant = state.registry.paytm_by_mid.get(mid)
    signature = as_str(head.get("signature")) or ""
    if merchant is None or not checksum.verify_string(body_text, merchant.api_key, signature):
        return failure(paytm.CODE_CHECKSUM_INVALID, "Checksum provided is invalid")
    return merchant, body


def _order_input(body: dict[str, Any], key: str) -> tuple[str, int, str] | Response:
    """``(order_id, amount, currency)`` of an initiate body, or the failure reply."""
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
    return order_id, amount, currency


def _field(body: dict[str, Any], outer: str, inner: str) -> str:
    value = body.get(outer)
    return (as_str(value.get(inner)) or "") if isinstance(value, dict) else ""


def _token_reply(order: Order, code: str, message: str, key: str) -> Response:
    return reply(
        {
            "resultInfo": result("S", code, message),
            "txnToken": order.txn_token,
            "isPromoCodeValid": False,
            "authenticated": False,
        },
        key,
    )


async def initiate(request: SimRequest) -> Response:
    """``initiateTransaction`` (and the SDK's ``/order/initiate``)."""
    state = request.state
    got = await signed(state, request)
    parsed: tuple[str, int, str] | Response | None = None
    call: CallKey | None = None
    if not isinstance(got, Response):
        merchant, body = got
        parsed = _order_input(body, merchant.api_key)
        if not isinstance(parsed, Response):
            existing = state.orders.get(PAYTM, merchant.merchant_id, parsed[0])
            if existing is not None:
                call = (*existing.key, "initiate-again")
            else:
                custid = _field(body, "userInfo", "custId")
                call = state.draws.order_key(
                    PAYTM.value, merchant.merchant_id, parsed[1], parsed[2], custid
                )
    try:
        await state.delay("auth", call)
    except HTTPGatewayTimeout:
        if call is not None and isinstance(parsed, tuple) and not isinstance(got, Response):
            state.draws.refused(PAYTM.value, got[0].merchant_id, parsed[0], call)
        raise
    if isinstance(got, Response):
        return got
    if isinstance(parsed, Response):
        return parsed
    merchant, body = got
    key = merchant.api_key
    # both set whenever the request was signed
    assert parsed is not None
    assert call is not None
    order_id, amount, currency = parsed
    existing = state.orders.get(PAYTM, merchant.merchant_id, order_id)
    if existing is not None:
        return _token_reply(existing, paytm.CODE_DUPLICATE_ORDER, "Success Idempotent", key)
    plan = state.charge_plan(call, amount)
    fault = http_fault(plan.entry)
    if fault is not None:
        state.draws.refused(PAYTM.value, merchant.merchant_id, order_id, call)
        return fault
    order = Order(
        gateway=PAYTM,
        merchant_id=merchant.merchant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        plan=plan,
        customer_id=_field(body, "userInfo", "custId"),
        reference=_field(body, "extendInfo", "mercUnqRef"),
        txn_token=secrets.token_hex(16),
        key=call,
    )
    state.orders.add(order)
    return _token_reply(order, paytm.CODE_OK, "Success", key)


async def process(request: SimRequest) -> Response:
    state = request.state
    env = await _envelope(request)
    order: Order | None = None
    merchant: Merchant | None = None
    token = ""
    if not isinstance(env, Response):
        head, body, _ = env
        mid = as_str(body.get("mid")) or (request.query.get("mid") or "")
        order_id = as_str(body.get("orderId")) or (request.query.get("orderId") or "")
        merchant = state.registry.paytm_by_mid.get(mid)
        order = state.orders.get(PAYTM, mid, order_id) if merchant else None
        token = as_str(head.get("txnToken")) or ""
    await state.delay("auth", None if order is None else (*order.key, "txn"))
    if isinstance(env, Response):
        return env
    if merchant is None or order is None or not secrets.compare_digest(token, order.txn_token):
        return failure(CODE_BAD_TOKEN, "Invalid txnToken or order")
    key = merchant.api_key
    if order.state is not OrderState.NEW:
        return failure(paytm.CODE_ORDER_CLOSED, "Order is closed", key)
    mode = as_str(env[1].get("paymentMode")) or "CREDIT_CARD"
    method = paytm_wire.PROCESS_MODES.get(mode, "card")
    lifecycle.refine_plan(state, order, method)
    outcome = lifecycle.start_txn(state, merchant, order, method)
    if outcome is TxnResult.SERVER_ERROR:
        return failure(paytm.CODE_SYSTEM_ERROR, "System Error", status=500)
    if outcome is TxnResult.RESET:
        reset_connection(request)
        return Response(status=200)
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


def _order_of(state: SimState, merchant: Merchant, body: dict[str, Any]) -> Order | None:
    return state.orders.get(PAYTM, merchant.merchant_id, as_str(body.get("orderId")) or "")


async def order_status(request: SimRequest) -> Response:
    state = request.state
    got = await signed(state, request)
    call: CallKey | None = None
    order: Order | None = None
    if not isinstance(got, Response):
        merchant, body = got
        order = _order_of(state, merchant, body)
        if order is not None:
            call = (*order.key, "status", order.reads)
            order.reads += 1
        else:
            order_id = as_str(body.get("orderId")) or ""
            call = state.draws.missing_order_key(PAYTM.value, merchant.merchant_id, order_id)
    await state.delay("status", call)
    if isinstance(got, Response):
        return got
    assert call is not None  # set whenever the request was signed
    fault = http_fault(state.call_fault(call))
    if fault is not None:
        return fault
    merchant, body = got
    if order is None:
        return reply(
            {
                "resultInfo": result("NO_RECORD_FOUND", paytm.CODE_NO_RECORD, "No Record Found"),
                "orderId": as_str(body.get("orderId")) or "",
                "mid": merchant.merchant_id,
            },
            merchant.api_key,
        )
    return reply(paytm_wire.status_body(order), merchant.api_key)


def _refund_call(order: Order | None, ref_id: str, body: dict[str, Any]) -> CallKey | None:
    """A known refId keeps its refund's key; a new one ranks among equal amounts."""
    if order is None or not ref_id:
        return None
    existing = order.refunds.get(ref_id)
    if existing is not None:
        return existing.key
    try:
        amount = parse_major(as_str(body.get("refundAmount")) or "", order.currency)
    except ValueError:
        return None
    rank = order.refund_ranks.get(amount, 0)
    order.refund_ranks[amount] = rank + 1
    return (*order.key, "refund", amount, rank)


async def refund(request: SimRequest) -> Response:
    """The async refund (and the SDK's ``/refund/apply``)."""
    state = request.state
    got = await signed(state, request)
    order: Order | None = None
    call: CallKey | None = None
    if not isinstance(got, Response):
        order = _order_of(state, got[0], got[1])
        call = _refund_call(order, as_str(got[1].get("refId")) or "", got[1])
    await state.delay("refund", call)
    if isinstance(got, Response):
        return got
    merchant, body = got
    key = merchant.api_key
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
    assert call is not None  # set whenever the order exists and refId and amount parse
    outcome = state.refund_plan(call, amount)
    if outcome is RefundResult.SERVER_ERROR:
        return failure(paytm.CODE_SYSTEM_ERROR, "System Error", status=500)
    accepted = lifecycle.open_refund(
        state, merchant, order, request_id=ref_id, amount=amount, result=outcome, key=call
    )
    accepted.reason = as_str(body.get("comments")) or ""
    if outcome is RefundResult.STALL:
        await state.stall()
    return reply(paytm_wire.refund_body(order, accepted), key)


async def refund_status(request: SimRequest) -> Response:
    state = request.state
    got = await signed(state, request)
    found: Refund | None = None
    order: Order | None = None
    call: CallKey | None = None
    if not isinstance(got, Response):
        merchant, body = got
        order = _order_of(state, merchant, body)
        ref_id = as_str(body.get("refId")) or ""
        found = order.refunds.get(ref_id) if order is not None else None
        if found is not None:
            call = (*found.key, "status", found.reads)
            found.reads += 1
        else:
            order_id = as_str(body.get("orderId")) or ""
            missing = state.draws.missing_order_key(PAYTM.value, merchant.merchant_id, order_id)
            call = (*missing, ref_id)
    await state.delay("status", call)
    if isinstance(got, Response):
        return got
    assert call is not None  # set whenever the request was signed
    fault = http_fault(state.call_fault(call))
    if fault is not None:
        return fault
    merchant, body = got
    if order is None or found is None:
        return reply(
            {
                "resultInfo": result(
                    "TXN_FAILURE", paytm.CODE_REFUND_NO_RECORD, "Record not found"
                ),
                "refId": as_str(body.get("refId")) or "",
                "mid": merchant.merchant_id,
            },
            merchant.api_key,
        )
    return reply(paytm_wire.refund_status_body(order, found), merchant.api_key)


# The paths Paytm's Python SDK (paytm-pg 1.1.x) calls, beside the documented ones.
SDK_INITIATE_PATH = "/order/initiate"
SDK_REFUND_PATH = "/refund/apply"


def add_routes(router: Router[SimState]) -> None:
    router.add_post(paytm.INITIATE_PATH, initiate)
    router.add_post(SDK_INITIATE_PATH, initiate)
    router.add_post(paytm.PROCESS_PATH, process)
    router.add_post(paytm.ORDER_STATUS_PATH, order_status)
    router.add_post(paytm.REFUND_PATH, refund)
    router.add_post(SDK_REFUND_PATH, refund)
    router.add_post(paytm.REFUND_STATUS_PATH, refund_status)
