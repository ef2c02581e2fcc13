"""Charge and refund plans: what the simulated gateway will do with a request.

A plan is decided once per order (at creation) or per refund, from the
deterministic amount hooks first and the profile's fault rates second, so a
test can force any outcome and a load run gets the configured mix.

Charge hooks (last two digits of the amount in minor units):

====  ============================================================
01    declined (Juspay AUTHORIZATION_FAILED 27 / Paytm 227)
02    pending, then succeeds by webhook after ``settle_delay_s``
03    pending, then fails by webhook (AUTHENTICATION_FAILED / 227)
04    5xx on the transaction call; the attempt is recorded failed
05    charged, but the reply stalls ``stall_s`` (ambiguous timeout)
06    429 on the first call (/orders, initiateTransaction); nothing created
07    charged, then the connection is reset without a reply
08    declined, other code (JUSPAY_DECLINED 22 / Paytm 235)
09    pending then success, webhooks duplicated and a stale pending one
      delivered after the final one (out of order)
====  ============================================================

Refund hooks (last two digits of the *refund* amount): 91 accepted then
fails, 94 5xx before anything is accepted, 95 accepted but the reply stalls.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from gateway_sim.config import FaultRates


class EntryFault(enum.Enum):
    NONE = "none"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"


class TxnResult(enum.Enum):
    CHARGE = "charge"
    DECLINE = "decline"
    DECLINE_OTHER = "decline_other"
    PENDING_SUCCESS = "pending_success"
    PENDING_FAILURE = "pending_failure"
    SERVER_ERROR = "server_error"
    AMBIGUOUS_TIMEOUT = "ambiguous_timeout"
    RESET = "reset"


class RefundResult(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    SERVER_ERROR = "server_error"
    STALL = "stall"


@dataclass(frozen=True, slots=True)
class ChargePlan:
    entry: EntryFault = EntryFault.NONE
    txn: TxnResult = TxnResult.CHARGE
    messy_webhooks: bool = False  # force duplicate + out-of-order deliveries


_CHARGE_HOOKS: dict[int, ChargePlan] = {
    1: ChargePlan(txn=TxnResult.DECLINE),
    2: ChargePlan(txn=TxnResult.PENDING_SUCCESS),
    3: ChargePlan(txn=TxnResult.PENDING_FAILURE),
    4: ChargePlan(txn=TxnResult.SERVER_ERROR),
    5: ChargePlan(txn=TxnResult.AMBIGUOUS_TIMEOUT),
    6: ChargePlan(entry=EntryFault.RATE_LIMIT),
    7: ChargePlan(txn=TxnResult.RESET),
    8: ChargePlan(txn=TxnResult.DECLINE_OTHER),
    9: ChargePlan(txn=TxnResult.PENDING_SUCCESS, messy_webhooks=True),
}

_REFUND_HOOKS: dict[int, RefundResult] = {
    91: RefundResult.FAILURE,
    94: RefundResult.SERVER_ERROR,
    95: RefundResult.STALL,
}

PENDING_METHODS = frozenset({"upi", "netbanking"})


def hooked_charge(amount: int) -> ChargePlan | None:
    return _CHARGE_HOOKS.get(amount % 100)


def plan_charge(
    amount: int, method: str, faults: FaultRates, rng: random.Random, *, hooks: bool
) -> ChargePlan:
    """Decide an order's fate: a hook if the amount matches one, else by the rates."""
    if hooks:
        forced = hooked_charge(amount)
        if forced is not None:
            return forced
    if faults.rate_limit and rng.random() < faults.rate_limit:
        return ChargePlan(entry=EntryFault.RATE_LIMIT)
    x = rng.random()
    for rate, result in (
        (faults.server_error, TxnResult.SERVER_ERROR),
        (faults.reset, TxnResult.RESET),
        (faults.ambiguous_timeout, TxnResult.AMBIGUOUS_TIMEOUT),
        (faults.decline, TxnResult.DECLINE),
    ):
        if x < rate:
            if result is TxnResult.DECLINE and rng.random() < 0.3:
                return ChargePlan(txn=TxnResult.DECLINE_OTHER)
            return ChargePlan(txn=result)
        x -= rate
    pending = plan_pending(method, faults, rng)
    return ChargePlan() if pending is None else ChargePlan(txn=pending)


def plan_pending(method: str, faults: FaultRates, rng: random.Random) -> TxnResult | None:
    """UPI and netbanking are often pending first; the method is known only at payment."""
    if method in PENDING_METHODS and faults.pending and rng.random() < faults.pending:
        failed = faults.pending_failure and rng.random() < faults.pending_failure
        return TxnResult.PENDING_FAILURE if failed else TxnResult.PENDING_SUCCESS
    return None


def plan_refund(
    amount: int, faults: FaultRates, rng: random.Random, *, hooks: bool
) -> RefundResult:
    if hooks:
        forced = _REFUND_HOOKS.get(amount % 100)
        if forced is not None:
            return forced
    if faults.server_error and rng.random() < faults.server_error:
        return RefundResult.SERVER_ERROR
    return RefundResult.SUCCESS


def call_fault(faults: FaultRates, rng: random.Random) -> EntryFault:
    """Faults on calls that change nothing (status reads): 429 or 5xx, before work."""
    if not (faults.rate_limit or faults.server_error):
        return EntryFault.NONE
    x = rng.random()
    if x < faults.rate_limit:
        return EntryFault.RATE_LIMIT
    if x < faults.rate_limit + faults.server_error:
        return EntryFault.SERVER_ERROR
    return EntryFault.NONE
