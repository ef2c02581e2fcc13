"""State changes shared by both simulated gateways: charge, decline, settle, refund.

Every change that moves money is written to the ledger *before* the reply is
sent (and before any stall or reset), so an ambiguous timeout really did
charge, and a status query afterwards sees the truth.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets

from gateway_sim import juspay_wire, paytm_wire
from gateway_sim.draws import CallKey
from gateway_sim.hooks import PENDING_METHODS, RefundResult, TxnResult, plan_pending
from gateway_sim.runtime import SimState
from gateway_sim.state import Merchant, Order, OrderState, Refund, RefundState, new_txn_id
from gateway_sim.webhooks import Notification
from payments.gateways.base import GatewayName

# result -> (Juspay failure status, Juspay code, Paytm code, message)
FAILURES: dict[TxnResult, tuple[str, str, str, str]] = {
    TxnResult.DECLINE: ("AUTHORIZATION_FAILED", "05", "227", "Do not honour"),
    TxnResult.DECLINE_OTHER: ("JUSPAY_DECLINED", "risk_declined", "235", "Insufficient balance"),
    TxnResult.PENDING_FAILURE: (
        "AUTHENTICATION_FAILED",
        "authentication_failed",
        "401",
        "Declined by the bank after authentication",
    ),
    # The gateway errored and reports the attempt failed: a later status
    # query resolves the caller's UNKNOWN to FAILED.
    TxnResult.SERVER_ERROR: ("JUSPAY_DECLINED", "gateway_error", "227", "Gateway internal error"),
}


def notification(merchant: Merchant, order: Order, refund: Refund | None = None) -> Notification:
    if order.gateway is GatewayName.JUSPAY:
        return juspay_wire.notification(merchant, order, refund)
    return paytm_wire.notification(merchant, order, refund)


def _charge(state: SimState, merchant: Merchant, order: Order) -> None:
    order.state = OrderState.CHARGED
    order.decline_code = ""
    order.decline_message = ""
    state.ledger.record(
        gateway=order.gateway.value,
        merchant_id=order.merchant_id,
        order_id=order.order_id,
        txn_id=order.txn_id,
        kind="charge",
        amount=order.amount,
        currency=order.currency,
        reference=order.reference,
    )


def _fail(order: Order, result: TxnResult) -> None:
    status, jcode, pcode, message = FAILURES[result]
    order.state = OrderState.FAILED
    order.failure_status = status
    order.decline_code = jcode if order.gateway is GatewayName.JUSPAY else pcode
    order.decline_message = message


def refine_plan(state: SimState, order: Order, method: str) -> None:
    """Random pending outcomes depend on the payment method, known only at payment."""
    faults = state.profile.faults
    if order.plan.txn is TxnResult.CHARGE and method in PENDING_METHODS and faults.pending:
        rng = state.draws.rng(order.key, "txn-pending:" + method)
        pending = plan_pending(method, faults, rng)
        if pending is not None:
            order.plan = dataclasses.replace(order.plan, txn=pending)


def start_txn(state: SimState, merchant: Merchant, order: Order, method: str) -> TxnResult:
    """Run the order's plan for its transaction call; returns what the reply must do."""
    order.txn_id = new_txn_id(order.gateway)
    order.payment_method = method
    state.orders.index_txn(order)
    result = order.plan.txn
    if result in (TxnResult.PENDING_SUCCESS, TxnResult.PENDING_FAILURE):
        order.state = OrderState.PENDING
        stale = notification(merchant, order)
        state.spawn(_settle(state, merchant, order, stale))
        return result
    if result in (TxnResult.CHARGE, TxnResult.AMBIGUOUS_TIMEOUT, TxnResult.RESET):
        _charge(state, merchant, order)
    else:
        _fail(order, result)
    answered = result in (TxnResult.CHARGE, TxnResult.DECLINE, TxnResult.DECLINE_OTHER)
    if not (answered and state.profile.webhook.only_async) and state.sends_webhooks(merchant):
        state.notify(notification(merchant, order), order.key)
    return result


def start_authentication(state: SimState, order: Order, method: str) -> TxnResult:
    """A card transaction that waits for 3DS (PENDING_VBV); its plan applies afterwards.

    The caller runs a planned 5xx through :func:`start_txn` instead: that
    attempt fails at once and never gets an authentication URL.
    """
    order.txn_id = new_txn_id(order.gateway)
    order.payment_method = method
    state.orders.index_txn(order)
    order.state = OrderState.PENDING
    order.authenticating = True
    return order.plan.txn


def authenticate(state: SimState, merchant: Merchant, order: Order, *, completed: bool) -> None:
    """The customer's 3DS step: charge, decline or settle later, as planned.

    ``completed=False`` is a customer who abandons or fails the challenge
    (AUTHENTICATION_FAILED). The final state is notified by webhook, since the
    caller of ``/txns`` could not read it from that reply.
    """
    if not order.authenticating or order.state is not OrderState.PENDING:
        return
    order.authenticating = False
    result = order.plan.txn if completed else TxnResult.PENDING_FAILURE
    if completed and result in (TxnResult.PENDING_SUCCESS, TxnResult.PENDING_FAILURE):
        # Authenticated, then left pending at the bank: settles like any pending payment.
        stale = notification(merchant, order)
        state.spawn(_settle(state, merchant, order, stale))
        return
    if result in (TxnResult.CHARGE, TxnResult.AMBIGUOUS_TIMEOUT, TxnResult.RESET):
        _charge(state, merchant, order)
    else:
        _fail(order, result)
    if state.sends_webhooks(merchant):
        state.notify(notification(merchant, order), order.key)


async def _settle(state: SimState, merchant: Merchant, order: Order, stale: Notification) -> None:
    """Resolve a pending attempt after the profile's delay and notify the merchant."""
    await asyncio.sleep(state.profile.settle_delay_s)
    if order.state is not OrderState.PENDING:
        return
    if order.plan.txn is TxnResult.PENDING_SUCCESS:
        _charge(state, merchant, order)
    else:
        _fail(order, TxnResult.PENDING_FAILURE)
    final = notification(merchant, order)
    settings = state.profile.webhook
    messy = order.plan.messy_webhooks and state.profile.hooks
    base = settings.delay_s
    if messy:
        state.dispatcher.spawn_later(base, final, settings)
        state.dispatcher.spawn_later(base + 0.05, final, settings)
    else:
        state.notify(final, order.key)
    stale_late = (
        settings.out_of_order_rate
        and state.draws.rng(order.key, "webhook-out-of-order").random() < settings.out_of_order_rate
    )
    if messy or stale_late:
        # The "pending" event, delayed until after the final one: out of order.
        state.dispatcher.spawn_later(base + 0.2, stale, settings)


def open_refund(
    state: SimState,
    merchant: Merchant,
    order: Order,
    *,
    request_id: str,
    amount: int,
    result: RefundResult,
    key: CallKey,
) -> Refund:
    """Accept a refund (the caller checked bounds); it settles in the background."""
    refund = Refund(
        refund_id="rfnd_" + secrets.token_hex(10),
        request_id=request_id,
        amount=amount,
        plan=result,
        key=key,
    )
    order.refunds[request_id] = refund
    entry = state.ledger.record(
        gateway=order.gateway.value,
        merchant_id=order.merchant_id,
        order_id=order.order_id,
        txn_id=order.txn_id,
        kind="refund",
        amount=amount,
        currency=order.currency,
        reference=order.reference,
        refund_id=request_id,
        status="pending",
    )
    refund.ledger_seq = entry.seq
    state.spawn(_settle_refund(state, merchant, order, refund))
    return refund


async def _settle_refund(state: SimState, merchant: Merchant, order: Order, refund: Refund) -> None:
    await asyncio.sleep(state.profile.refund_settle_s)
    if refund.plan is RefundResult.FAILURE:
        refund.state = RefundState.FAILED
        state.ledger.set_status(refund.ledger_seq, "failed")
    else:
        refund.state = RefundState.SUCCEEDED
        state.ledger.set_status(refund.ledger_seq, "succeeded")
    if state.sends_webhooks(merchant):
        state.notify(notification(merchant, order, refund), refund.key)
