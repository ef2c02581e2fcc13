"""The Tortoise driver: every named statement of ``payments.sql`` as ORM operations.

The flows yield ``Query(sql.<STATEMENT>, args)``; the engine and the legacy
service send that SQL as written. This driver looks the statement up in
``STATEMENTS`` and runs the ORM operations that mean the same, returning
the same row shapes (dicts with the statement's column names), so the flows
cannot tell the drivers apart.

How each kind of statement maps:

- reads are querysets (``get_or_none``, ``filter().values()``);
- a compare-and-set ``UPDATE ... WHERE status = ...`` is
  ``filter(..., status=...).update(...)`` and its row count, with ``F``
  expressions for counters and ``Case``/``When`` where the new value
  depends on the row;
- the data-modifying CTEs (two writes in one statement) are the same writes
  in ``in_transaction()``, followed by a re-read where the statement had
  ``RETURNING`` (the ORM's ``update()`` returns a count, not rows; a
  ``create()`` has its row already);
- ``INSERT ... ON CONFLICT DO NOTHING`` is ``create()`` and the
  ``IntegrityError`` of the one constraint the statement names; the
  idempotency claim's ``ON CONFLICT DO UPDATE ... WHERE`` is ``create()``
  then a conditional ``update()``, which the row lock serialises exactly as
  PostgreSQL serialises the upsert (one claimer wins).

``now()`` stays the database's clock (``DbNow``) wherever the SQL uses it.

Raw SQL is used only where Tortoise cannot express the statement; each such
function is listed in ``RAW_SQL`` with the reason, and
``tests/sanic_service`` fails on any other raw call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any

from pypika_tortoise import functions as sql_functions
from pypika_tortoise.terms import Interval, Term
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Case, Expression, F, Q, ResolveContext, ResolveResult, When
from tortoise.models import Model
from tortoise.transactions import in_transaction

from payments import sql
from payments.effects import Query
from payments.states import REFUNDABLE
from sanic_service.models import (
    IdempotencyKey,
    Merchant,
    Payment,
    PaymentAttempt,
    Refund,
    WebhookEvent,
)

Row = dict[str, Any]

# Columns of payments.sql.payment_columns() and refund_columns(), in their order.
PAYMENT_FIELDS = (
    "id", "merchant_id", "order_id", "amount", "currency", "gateway", "payment_method", "status",
    "attempt_id", "gateway_txn_id", "failure_code", "failure_message", "amount_refunded",
    "amount_refund_reserved", "description", "customer_id", "version", "created_at",
    "updated_at", "metadata",
)  # fmt: skip
REFUND_FIELDS = (
    "id", "payment_id", "merchant_id", "amount", "currency", "status", "reason",
    "gateway_refund_id", "failure_code", "failure_message", "created_at", "updated_at",
)  # fmt: skip
MERCHANT_FIELDS = (
    "id", "name", "juspay_merchant_id", "juspay_api_key", "paytm_mid", "paytm_merchant_key",
    "webhook_username", "webhook_password",
)  # fmt: skip
ATTEMPT_FIELDS = (
    "id", "payment_id", "merchant_id", "gateway", "status", "gateway_txn_id", "gateway_status",
)  # fmt: skip

UNSETTLED = ("unknown", "pending")
REFUNDABLE_STATUSES = tuple(sorted(s.value for s in REFUNDABLE))
IDEMPOTENCY_TTL = timedelta(hours=24)
# PostgreSQL's names for the constraints the INSERT ... ON CONFLICT statements name.
ORDER_ID_TAKEN = "payments_order_id_merchant_id_key"  # UNIQUE (order_id, merchant_id)
IDEMPOTENCY_KEY_TAKEN = "idempotency_keys_pkey"
WEBHOOK_EVENT_SEEN = "webhook_events_pkey"

RAW_SQL: dict[str, str] = {
    "ping": "a health probe reads no table, and every Tortoise queryset selects from a "
    "model's table",
}


class UnmappedStatement(LookupError):
    """A flow yielded SQL this driver has no ORM operation for."""


class DbNow(Expression):
    """PostgreSQL's ``now()``: the clock the other services' statements use."""

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        return ResolveResult(term=sql_functions.Now())


def db_now_minus(seconds: float) -> Term:
    """``now() - interval``, for filters on the database's clock."""
    return sql_functions.Now() - Interval(microseconds=round(seconds * 1_000_000))


def _row(obj: Model, names: Iterable[str]) -> Row:
    return {name: getattr(obj, name) for name in names}


def _violated(exc: IntegrityError, constraint: str) -> bool:
    """Whether the IntegrityError is a violation of ``constraint`` (asyncpg's error inside)."""
    cause = exc.args[0] if exc.args else None
    return getattr(cause, "constraint_name", None) == constraint


# -- merchants and health -----------------------------------------------------------------


async def ping() -> Row | None:
    # Raw SQL (RAW_SQL["ping"]): SELECT 1 touches no table.
    rows = await Tortoise.get_connection("default").execute_query_dict(sql.PING)
    return rows[0] if rows else None


async def merchant_by_key_hash(key_hash: str) -> Row | None:
    merchant = await Merchant.get_or_none(api_key_hash=key_hash)
    return _row(merchant, MERCHANT_FIELDS) if merchant is not None else None


async def merchant_by_id(merchant_id: str) -> Row | None:
    merchant = await Merchant.get_or_none(id=merchant_id)
    return _row(merchant, MERCHANT_FIELDS) if merchant is not None else None


# -- payments and attempts ----------------------------------------------------------------


async def insert_payment(  # noqa: PLR0917 (the statement's $1..$10, in order)
    payment_id: str, merchant_id: str, order_id: str, amount: int, currency: str, gateway: str,
    payment_method: str, description: str | None, customer_id: str | None, metadata: str,
) -> Row | None:  # fmt: skip
    try:
        payment = await Payment.create(
            id=payment_id, merchant_id=merchant_id, order_id=order_id, amount=amount,
            currency=currency, gateway=gateway, payment_method=payment_method, status="created",
            description=description, customer_id=customer_id, metadata=metadata,
        )  # fmt: skip
    except IntegrityError as exc:
        if _violated(exc, ORDER_ID_TAKEN):
            return None
        raise
    if len(json.loads(metadata)) > 1:
        # jsonb keeps keys in its own order; answer with the stored order, as the
        # other services' RETURNING does, not with the client's
        await payment.refresh_from_db(fields=["metadata"])
    return _row(payment, PAYMENT_FIELDS)


async def insert_payment_with_attempt(  # noqa: PLR0917 (the statement's $1..$11, in order)
    payment_id: str, merchant_id: str, order_id: str, amount: int, currency: str, gateway: str,
    payment_method: str, description: str | None, customer_id: str | None, metadata: str,
    attempt_id: str,
) -> Row | None:  # fmt: skip
    """A payment created already ``processing`` with its ``unknown`` attempt, or None."""
    try:
        async with in_transaction():
            payment = await Payment.create(
                id=payment_id, merchant_id=merchant_id, order_id=order_id, amount=amount,
                currency=currency, gateway=gateway, payment_method=payment_method,
                status="processing", attempt_id=attempt_id, version=2, description=description,
                customer_id=customer_id, metadata=metadata,
            )  # fmt: skip
            await PaymentAttempt.create(id=attempt_id, payment_id=payment_id,
                                        merchant_id=merchant_id, gateway=gateway,
                                        status="unknown")  # fmt: skip
    except IntegrityError as exc:
        if _violated(exc, ORDER_ID_TAKEN):
            return None
        raise
    if len(json.loads(metadata)) > 1:
        # as insert_payment: the stored (jsonb) order of the keys, not the client's
        await payment.refresh_from_db(fields=["metadata"])
    return _row(payment, PAYMENT_FIELDS)


async def get_payment(payment_id: str, merchant_id: str) -> Row | None:
    payment = await Payment.get_or_none(id=payment_id, merchant_id=merchant_id)
    return _row(payment, PAYMENT_FIELDS) if payment is not None else None


async def get_payment_by_order(merchant_id: str, order_id: str) -> Row | None:
    payment = await Payment.get_or_none(merchant_id=merchant_id, order_id=order_id)
    return _row(payment, PAYMENT_FIELDS) if payment is not None else None


async def begin_attempt(payment_id: str, merchant_id: str, attempt_id: str) -> Row | None:
    """created -> processing and a new ``unknown`` attempt, or None if not ``created``."""
    async with in_transaction():
        moved = await Payment.filter(id=payment_id, merchant_id=merchant_id,
                                     status="created").update(
            status="processing", attempt_id=attempt_id, version=F("version") + 1,
            updated_at=DbNow(),
        )  # fmt: skip
        if not moved:
            return None
        payment = await Payment.get(id=payment_id)
        # the partial unique index refuses a second live attempt, whatever happens here
        await PaymentAttempt.create(id=attempt_id, payment_id=payment_id,
                                    merchant_id=merchant_id, gateway=payment.gateway,
                                    status="unknown")  # fmt: skip
    return _row(payment, PAYMENT_FIELDS)


async def settle_attempt(  # noqa: PLR0917 (the statement's $1..$8, in order)
    payment_id: str, attempt_id: str, status: str, gateway_txn_id: str | None,
    gateway_status: str | None, error_code: str | None, error_message: str | None,
    final: str | None,
) -> Row | None:  # fmt: skip
    """Record the gateway's answer on an unsettled attempt; move the payment when final."""
    attempt_changes: dict[str, Any] = {
        "status": status, "error_code": error_code, "error_message": error_message,
        "updated_at": DbNow(),
    }  # fmt: skip
    payment_changes: dict[str, Any] = {
        "failure_code": error_code, "failure_message": error_message,
        "version": F("version") + 1, "updated_at": DbNow(),
    }  # fmt: skip
    # coalesce($n, column): a value the gateway did not send leaves the column as it is
    if gateway_txn_id is not None:
        attempt_changes["gateway_txn_id"] = payment_changes["gateway_txn_id"] = gateway_txn_id
    if gateway_status is not None:
        attempt_changes["gateway_status"] = gateway_status
    if final is not None:
        payment_changes["status"] = final
    async with in_transaction():
        recorded = await PaymentAttempt.filter(
            id=attempt_id, payment_id=payment_id, status__in=UNSETTLED
        ).update(**attempt_changes)
        if not recorded:
            return None
        moved = await Payment.filter(
            id=payment_id, attempt_id=attempt_id, status="processing"
        ).update(**payment_changes)
        if not moved:
            return None
        payment = await Payment.get(id=payment_id)
    return _row(payment, PAYMENT_FIELDS)


async def get_attempt(attempt_id: str) -> Row | None:
    # Tortoise's stubs say a row; .first() gives None when there is none
    found: Row | None = await (
        PaymentAttempt.filter(id=attempt_id)
        .annotate(db_now=DbNow())
        .first()
        .values(*ATTEMPT_FIELDS, "created_at", "db_now")
    )
    if found is None:
        return None
    age = found.pop("db_now") - found.pop("created_at")
    return {**found, "age_s": age.total_seconds()}


async def unsettled_attempts(min_age_s: float, limit: int) -> list[Row]:
    return await (
        PaymentAttempt.filter(status__in=UNSETTLED, updated_at__lt=db_now_minus(min_age_s))
        .order_by("updated_at")
        .limit(limit)
        .values("id", "payment_id", "merchant_id", "gateway")
    )


# -- refunds ------------------------------------------------------------------------------


async def reserve_refund(
    payment_id: str, merchant_id: str, refund_id: str, amount: int, reason: str | None
) -> Row | None:
    """Reserve ``amount`` on a captured payment and create the refund, or None."""
    found: Row | None = await (
        Payment.filter(id=payment_id, merchant_id=merchant_id).first().values("currency")
    )
    if found is None:
        return None
    currency = found["currency"]
    async with in_transaction():
        # The row lock of this UPDATE serialises concurrent refunds of the payment;
        # each re-checks the bound after the lock, and a CHECK constraint backs it.
        reserved = await Payment.filter(
            id=payment_id, merchant_id=merchant_id, status__in=REFUNDABLE_STATUSES,
            amount_refund_reserved__lte=F("amount") - amount,
        ).update(
            amount_refund_reserved=F("amount_refund_reserved") + amount,
            version=F("version") + 1, updated_at=DbNow(),
        )  # fmt: skip
        if not reserved:
            return None
        refund = await Refund.create(id=refund_id, payment_id=payment_id, merchant_id=merchant_id,
                                     amount=amount, currency=currency, status="unknown",
                                     reason=reason)  # fmt: skip
    return _row(refund, REFUND_FIELDS)


async def settle_refund(
    refund_id: str, status: str, gateway_refund_id: str | None, failure_code: str | None,
    failure_message: str | None,
) -> Row | None:  # fmt: skip
    """Record the gateway's answer on an unsettled refund and move the payment's money."""
    changes: dict[str, Any] = {
        "status": status, "failure_code": failure_code, "failure_message": failure_message,
        "updated_at": DbNow(),
    }  # fmt: skip
    if gateway_refund_id is not None:
        changes["gateway_refund_id"] = gateway_refund_id
    async with in_transaction():
        if not await Refund.filter(id=refund_id, status__in=UNSETTLED).update(**changes):
            return None
        refund = await Refund.get(id=refund_id)
        payment = Payment.filter(id=refund.payment_id)
        if status == "succeeded":  # reserved money becomes refunded money
            await payment.update(
                amount_refunded=F("amount_refunded") + refund.amount,
                status=Case(When(amount_refunded__gte=F("amount") - refund.amount,
                                 then="refunded"), default="partially_refunded"),
                version=F("version") + 1, updated_at=DbNow(),
            )  # fmt: skip
        elif status == "failed":  # the reservation is freed
            await payment.update(
                amount_refund_reserved=F("amount_refund_reserved") - refund.amount,
                version=F("version") + 1, updated_at=DbNow(),
            )  # fmt: skip
    return _row(refund, REFUND_FIELDS)


async def get_refund(refund_id: str, merchant_id: str) -> Row | None:
    refund = await Refund.get_or_none(id=refund_id, merchant_id=merchant_id)
    return _row(refund, REFUND_FIELDS) if refund is not None else None


async def get_refund_by_id(refund_id: str) -> Row | None:
    refund = await Refund.get_or_none(id=refund_id)
    return _row(refund, REFUND_FIELDS) if refund is not None else None


async def unsettled_refunds(min_age_s: float, limit: int) -> list[Row]:
    refunds = await (
        Refund.filter(status__in=UNSETTLED, updated_at__lt=db_now_minus(min_age_s))
        .order_by("updated_at")
        .limit(limit)
    )
    return [_row(r, REFUND_FIELDS) for r in refunds]


async def unsettled_refunds_of_payment(payment_id: str) -> list[Row]:
    refunds = await Refund.filter(payment_id=payment_id, status__in=UNSETTLED)
    return [_row(r, REFUND_FIELDS) for r in refunds]


# -- webhooks and idempotency keys --------------------------------------------------------


async def record_webhook_event(gateway: str, event_id: str) -> Row | None:
    """The event, or None when it was seen before."""
    try:
        await WebhookEvent.create(gateway=gateway, event_id=event_id)
    except IntegrityError as exc:
        if _violated(exc, WEBHOOK_EVENT_SEEN):
            return None
        raise
    return {"event_id": event_id}


async def idempotency_claim(
    merchant_id: str, key: str, fingerprint: str, lock_timeout_s: float
) -> Row | None:
    """A new key, or take over one that expired or died in flight with the same request."""
    try:
        await IdempotencyKey.create(merchant_id=merchant_id, key=key,
                                    request_fingerprint=fingerprint, state="in_flight")
        return {"key": key}
    except IntegrityError as exc:
        if not _violated(exc, IDEMPOTENCY_KEY_TAKEN):
            raise
    stale = Q(created_at__lt=db_now_minus(IDEMPOTENCY_TTL.total_seconds())) | Q(
        state="in_flight", request_fingerprint=fingerprint,
        locked_at__lt=db_now_minus(lock_timeout_s),
    )  # fmt: skip
    taken = await IdempotencyKey.filter(stale, merchant_id=merchant_id, key=key).update(
        request_fingerprint=fingerprint, state="in_flight", response_status=None,
        response_body=None, created_at=DbNow(), locked_at=DbNow(),
    )  # fmt: skip
    return {"key": key} if taken else None


async def idempotency_get(merchant_id: str, key: str) -> Row | None:
    return await (
        IdempotencyKey.filter(merchant_id=merchant_id, key=key)
        .first()
        .values("request_fingerprint", "state", "response_status", "response_body")
    )


async def idempotency_finish(merchant_id: str, key: str, status: int, body: bytes) -> None:
    await IdempotencyKey.filter(merchant_id=merchant_id, key=key, state="in_flight").update(
        state="done", response_status=status, response_body=body
    )


async def idempotency_release(merchant_id: str, key: str) -> None:
    await IdempotencyKey.filter(merchant_id=merchant_id, key=key, state="in_flight").delete()


async def idempotency_prune() -> None:
    await IdempotencyKey.filter(
        created_at__lt=db_now_minus(IDEMPOTENCY_TTL.total_seconds())
    ).delete()


Statement = Callable[..., Awaitable[Any]]

STATEMENTS: dict[str, Statement] = {
    sql.PING: ping,
    sql.MERCHANT_BY_KEY_HASH: merchant_by_key_hash,
    sql.MERCHANT_BY_ID: merchant_by_id,
    sql.INSERT_PAYMENT: insert_payment,
    sql.INSERT_PAYMENT_WITH_ATTEMPT: insert_payment_with_attempt,
    sql.GET_PAYMENT: get_payment,
    sql.GET_PAYMENT_BY_ORDER: get_payment_by_order,
    sql.BEGIN_ATTEMPT: begin_attempt,
    sql.SETTLE_ATTEMPT: settle_attempt,
    sql.GET_ATTEMPT: get_attempt,
    sql.UNSETTLED_ATTEMPTS: unsettled_attempts,
    sql.RESERVE_REFUND: reserve_refund,
    sql.SETTLE_REFUND: settle_refund,
    sql.GET_REFUND: get_refund,
    sql.GET_REFUND_BY_ID: get_refund_by_id,
    sql.UNSETTLED_REFUNDS: unsettled_refunds,
    sql.UNSETTLED_REFUNDS_OF_PAYMENT: unsettled_refunds_of_payment,
    sql.RECORD_WEBHOOK_EVENT: record_webhook_event,
    sql.IDEMPOTENCY_CLAIM: idempotency_claim,
    sql.IDEMPOTENCY_GET: idempotency_get,
    sql.IDEMPOTENCY_FINISH: idempotency_finish,
    sql.IDEMPOTENCY_RELEASE: idempotency_release,
    sql.IDEMPOTENCY_PRUNE: idempotency_prune,
}
# Not a service statement: the stack empties a target's tables between trials with it.
NOT_SERVED = frozenset({sql.TRUNCATE_ALL})


async def run(query: Query) -> Any:
    """Run a flow's ``Query`` as its ORM operations."""
    try:
        statement = STATEMENTS[query.sql]
    except KeyError:
        raise UnmappedStatement(f"no ORM mapping for statement: {query.sql[:80]!r}") from None
    return await statement(*query.args)
