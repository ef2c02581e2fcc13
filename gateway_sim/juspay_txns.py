"""The simulated Juspay ``POST /txns`` and the customer's authentication step.

As documented, ``/txns`` needs no API key (it may be called from the
customer's device); it names the merchant with ``merchant_id``. A call that
does send Basic credentials must send valid ones. A card payment answers
``PENDING_VBV`` with ``payment.authentication`` (a JSON reply with
``format=json``, else a 302 to the authentication URL), and the simulated
authentication page ``/v2/pay/start/{merchant_id}/{txn_id}`` completes it:
charged or declined as the order's plan says (``?outcome=failure``: the
customer fails the challenge, AUTHENTICATION_FAILED), then a 302 to the
order's ``return_url`` with Juspay's signed parameters. The profile's
``juspay_card_auth`` (``gateway_sim.config``) keeps the immediate charge of
paybench's services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_sim import lifecycle
from gateway_sim.hooks import TxnResult
from gateway_sim.http import HTTPFound, Response, Router
from gateway_sim.juspay_api import JUSPAY, authenticate, error, json_reply, unauthorized
from gateway_sim.juspay_wire import return_location, status_name, txn_json
from gateway_sim.runtime import SimRequest, SimState, reset_connection
from gateway_sim.state import Merchant, OrderState
from payments.gateways.juspay import STATUS_IDS
from payments.gateways.wire import header

METHODS = {"CARD": "card", "UPI": "upi", "NB": "netbanking", "WALLET": "wallet"}
AUTH_PATH = "/v2/pay/start/{merchant_id}/{txn_id}"


def txn_merchant(
    state: SimState, request: SimRequest, form: Mapping[str, Any]
) -> tuple[Merchant | None, bool, Response | None]:
    """``(merchant, authenticated, error)`` of a ``/txns`` call."""
    if request.headers.get("Authorization"):
        merchant = authenticate(state, request)
        return merchant, merchant is not None, None if merchant else unauthorized()
    mid = str(form.get("merchant_id", "")) or header(request.headers, "x-merchantid") or ""
    if not mid:
        return None, False, error(400, "invalid_request", "merchant_id is required")
    merchant = state.registry.juspay_by_mid.get(mid)
    if merchant is None:
        return None, False, error(400, "invalid_merchant", f"Unknown merchant {mid}")
    return merchant, False, None


def needs_authentication(state: SimState, method: str, authenticated: bool) -> bool:
    mode = state.profile.juspay_card_auth
    if method != "card" or mode == "direct":
        return False
    return mode == "three_ds" or not authenticated


async def create_txn(request: SimRequest) -> Response:
    state = request.state
    form = await request.post()
    merchant, authenticated, refused = txn_merchant(state, request, form)
    order_id = str(form.get("order_id", ""))
    order = None if merchant is None else state.orders.get(JUSPAY, merchant.merchant_id, order_id)
    await state.delay("auth", None if order is None else (*order.key, "txn"))
    if merchant is None or refused is not None:
        return refused or unauthorized()
    if order is None:
        return error(404, "order_not_found", "Order not found")
    if order.state is not OrderState.NEW:
        return error(400, "order_already_processed", "A transaction exists for this order")
    method = METHODS.get(str(form.get("payment_method_type", "CARD")), "card")
    order.method_name = str(form.get("payment_method", ""))
    card_number = str(form.get("card_number", ""))
    order.card_last4 = card_number[-4:] if card_number.isdigit() else ""
    order.auth_type = str(form.get("auth_type", "")) or ("THREE_DS" if method == "card" else "")
    lifecycle.refine_plan(state, order, method)
    three_ds = needs_authentication(state, method, authenticated)
    if three_ds and order.plan.txn is not TxnResult.SERVER_ERROR:
        result = lifecycle.start_authentication(state, order, method)
    else:
        result = lifecycle.start_txn(state, merchant, order, method)
    if result is TxnResult.SERVER_ERROR:
        return error(500, "internal_server_error", "Something went wrong", "error")
    if result is TxnResult.RESET:
        reset_connection(request)
        return Response(status=200)
    if result is TxnResult.AMBIGUOUS_TIMEOUT:
        await state.stall()
    # scheme and Host header rather than request.url: building a URL object costs more
    auth_url = f"{request.scheme}://{request.host}" + AUTH_PATH.format(
        merchant_id=merchant.merchant_id, txn_id=order.txn_id
    )
    if form.get("format") != "json":
        # Without format=json Juspay redirects the customer's browser itself.
        raise HTTPFound(auth_url)
    return json_reply(200, txn_json(order, auth_url))


async def authentication_page(request: SimRequest) -> Response:
    """The customer's 3DS step; a second visit only redirects again."""
    state = request.state
    order = state.orders.by_txn(request.match_info["txn_id"])
    merchant = state.registry.juspay_by_mid.get(request.match_info["merchant_id"])
    await state.delay("auth", None if order is None else (*order.key, "authenticate"))
    if order is None or merchant is None or order.merchant_id != merchant.merchant_id:
        return error(404, "txn_not_found", "Transaction not found")
    completed = request.query.get("outcome", "success") != "failure"
    lifecycle.authenticate(state, merchant, order, completed=completed)
    location = return_location(order, merchant.response_key or merchant.api_key)
    if location is not None:
        raise HTTPFound(location)
    status = status_name(order)
    return json_reply(
        200, {"order_id": order.order_id, "status": status, "status_id": STATUS_IDS[status]}
    )


def add_routes(router: Router[SimState]) -> None:
    router.add_post("/txns", create_txn)
    router.add("GET", AUTH_PATH, authentication_page)
    router.add("POST", AUTH_PATH, authentication_page)
