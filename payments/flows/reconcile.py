"""The reconciler: settle attempts and refunds the services lost track of.

A gateway timeout, a 5xx or a worker killed mid-request leaves an attempt
``unknown``; webhooks may never come. Each service runs this flow every
``reconcile_interval_s`` to ask the gateway's status API about unsettled
attempts and refunds older than ``reconcile_min_age_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

from payments import sql
from payments.auth import merchant_by_id
from payments.context import Context
from payments.effects import Flow, Query
from payments.errors import PaymentError
from payments.flows.common import cache_payment, load_payment, sync_attempt
from payments.flows.refunds import sync_refund
from payments.models import Merchant


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    attempts_checked: int
    attempts_settled: int
    refunds_checked: int
    refunds_settled: int


def _merchant(ctx: Context, merchant_id: str) -> Flow[Merchant]:
    merchant = yield from merchant_by_id(merchant_id, ctx.merchants)
    if merchant is None:
        raise PaymentError(f"unknown merchant {merchant_id}")
    return merchant


def reconcile_once(ctx: Context, limit: int = 100) -> Flow[ReconcileReport]:
    """One pass over unsettled attempts and refunds."""
    min_age = ctx.settings.reconcile_min_age_s
    attempts = yield Query(sql.UNSETTLED_ATTEMPTS, (min_age, limit), fetch="all")
    settled = 0
    for attempt in attempts:
        try:
            merchant = yield from _merchant(ctx, attempt["merchant_id"])
            payment = yield from load_payment(merchant.id, attempt["payment_id"])
            after = yield from sync_attempt(ctx, merchant, payment)
        except PaymentError:
            continue  # one bad row must not stop the pass
        if after["status"] != "processing":
            settled += 1
            yield from cache_payment(ctx, after)
    refunds = yield Query(sql.UNSETTLED_REFUNDS, (min_age, limit), fetch="all")
    refunds_settled = 0
    for refund in refunds:
        try:
            merchant = yield from _merchant(ctx, refund["merchant_id"])
            row = yield from sync_refund(ctx, merchant, refund)
        except PaymentError:
            continue
        if row["status"] in ("succeeded", "failed"):
            refunds_settled += 1
    return ReconcileReport(len(attempts), settled, len(refunds), refunds_settled)
