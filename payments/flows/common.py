"""Pieces several flows share: ids, cache writes, settling attempts."""

from __future__ import annotations

from typing import Any

from payments import gateways, sql
from payments.context import Context
from payments.effects import CachePut, Flow, Query
from payments.errors import NotFound
from payments.gateways.base import AttemptStatus, ChargeOutcome
from payments.models import Merchant, Row, encode_json, payment_json

# Gateway answers to a status query that mean "no such order": the charge
# request never arrived (or has not arrived yet).
NOT_FOUND_STATUSES = frozenset({"NOT_FOUND", "40", "NO_RECORD_FOUND", "331"})


def never_paid(outcome: ChargeOutcome) -> bool:
    """The gateway holds no payment for the attempt (yet).

    Either it has no record of the order, or the order exists without a
    transaction: the service died between creating the order and paying it
    (Juspay ``/orders`` then ``/txns``, Paytm initiate then process). Only
    the service sends that second call, so once the attempt is older than
    its gateway timeout nothing will ever pay the order; a real pending
    payment (UPI, 3DS) always carries a transaction id.
    """
    if outcome.gateway_status in NOT_FOUND_STATUSES:
        return True
    return outcome.status is AttemptStatus.PENDING and not outcome.gateway_txn_id


def new_id(ctx: Context, prefix: str) -> str:
    """A new object id: ``<prefix>_`` and 24 hex digits from the context's id source."""
    return f"{prefix}_{ctx.ids(12)}"


def new_attempt_id(ctx: Context) -> str:
    """Juspay order ids are at most 21 alphanumerics: 'att' + 18 hex digits."""
    return f"att{ctx.ids(9)}"


def payment_cache_key(merchant_id: str, payment_id: str) -> str:
    return f"pay:{merchant_id}:{payment_id}"


def cache_payment(ctx: Context, row: Row) -> Flow[bytes]:
    """Encode a payment and write it through to the cache (newest version wins)."""
    body = encode_json(payment_json(row))
    yield CachePut(
        payment_cache_key(row["merchant_id"], row["id"]),
        row["version"],
        body,
        ctx.settings.cache_ttl_s,
    )
    return body


def load_payment(merchant_id: str, payment_id: str) -> Flow[dict[str, Any]]:
    row = yield Query(sql.GET_PAYMENT, (payment_id, merchant_id))
    if row is None:
        raise NotFound(f"no such payment: {payment_id}")
    result: dict[str, Any] = row
    return result


def settle_attempt(
    merchant_id: str, payment_id: str, attempt_id: str, outcome: ChargeOutcome
) -> Flow[dict[str, Any]]:
    """Record a gateway answer with compare-and-set; return the payment as it now is."""
    final = {AttemptStatus.SUCCEEDED: "succeeded", AttemptStatus.FAILED: "failed"}.get(
        outcome.status
    )
    row = yield Query(
        sql.SETTLE_ATTEMPT,
        (
            payment_id,
            attempt_id,
            outcome.status.value,
            outcome.gateway_txn_id,
            outcome.gateway_status,
            outcome.error_code,
            outcome.error_message,
            final,
        ),
    )
    if row is None:  # already settled by someone else (webhook, sync, reconciler)
        row = yield from load_payment(merchant_id, payment_id)
    result: dict[str, Any] = row
    return result


def sync_attempt(
    ctx: Context, merchant: Merchant, payment: Row
) -> Flow[dict[str, Any]]:
    """Ask the gateway for the truth of the payment's unsettled attempt, if any.

    A gateway that holds no payment for the attempt (``never_paid``) is only
    believed once the attempt is older than twice the gateway timeout: before
    that, the charge request may still be on its way.
    """
    attempt_id = payment["attempt_id"]
    if payment["status"] != "processing" or not attempt_id:
        return dict(payment)
    attempt = yield Query(sql.GET_ATTEMPT, (attempt_id,))
    if attempt is None or attempt["status"] not in ("unknown", "pending"):
        return dict(payment)
    outcome = yield from gateways.status_flow(
        merchant.credentials(payment["gateway"]), attempt_id
    )
    if never_paid(outcome):
        if attempt["age_s"] > 2 * ctx.settings.gateway_timeout_s:
            outcome = ChargeOutcome(
                AttemptStatus.FAILED,
                gateway_status=outcome.gateway_status,
                error_code="gateway_no_record",
                error_message="the gateway has no record of this charge",
            )
        else:
            outcome = ChargeOutcome(AttemptStatus.UNKNOWN, gateway_status=outcome.gateway_status)
    return (yield from settle_attempt(merchant.id, payment["id"], attempt_id, outcome))
