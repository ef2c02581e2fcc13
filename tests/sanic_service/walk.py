"""Both drivers side by side: each statement as written (asyncpg) and through the Tortoise driver.

``walk`` calls every statement of ``payments/sql.py`` the services use, in an
order that visits every state a payment, attempt, refund, idempotency key and
webhook event can be in; ``Pair.both`` runs each call on two schemas (one per
driver) and requires the same rows, timestamps aside.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from payments import sql
from payments.auth import hash_api_key
from payments.effects import Query
from sanic_service import driver
from stack.provision import demo_merchants

ALL = {sql.UNSETTLED_ATTEMPTS, sql.UNSETTLED_REFUNDS, sql.UNSETTLED_REFUNDS_OF_PAYMENT}
NONE = {sql.IDEMPOTENCY_FINISH, sql.IDEMPOTENCY_RELEASE, sql.IDEMPOTENCY_PRUNE}
FP, OTHER_FP = "f" * 64, "e" * 64
MERCHANTS = demo_merchants(2, 1)


def normal(value: Any) -> Any:
    """Rows comparable across drivers: timestamps masked, jsonb text parsed, key order kept."""
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            shown = item
            if key == "metadata" and isinstance(item, str):
                shown = json.loads(item)
            if key == "age_s":
                assert isinstance(item, float)
                assert 0 <= item < 60
                shown = "<age>"
            out[key] = normal(shown)
        return list(out.items())  # the order is the body's order
    if isinstance(value, datetime):
        assert value.tzinfo is not None
        return "<ts>"
    if isinstance(value, memoryview):
        return bytes(value)
    return value


class Pair:
    """Runs each call as written on one schema and through the driver on the other."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool  # search_path: the raw side's schema
        self.calls = 0

    async def raw(self, q: Query) -> Any:
        """The statement as the engine sends it (engine/ports.py)."""
        if q.fetch == "one":
            row = await self.pool.fetchrow(q.sql, *q.args)
            return dict(row.items()) if row is not None else None
        if q.fetch == "all":
            return [dict(r.items()) for r in await self.pool.fetch(q.sql, *q.args)]
        await self.pool.execute(q.sql, *q.args)
        return None

    async def both(self, statement: str, *args: Any) -> Any:
        fetch = "all" if statement in ALL else "none" if statement in NONE else "one"
        q = Query(statement, args, fetch)
        expected = await self.raw(q)
        got = await driver.run(q)
        assert normal(got) == normal(expected), (statement.split()[:4], args)
        self.calls += 1
        return got


async def walk(pair: Pair) -> None:
    """Every statement the services use, through every state it can meet."""
    b = pair.both
    key_hash = hash_api_key(MERCHANTS[0].api_key)
    m1, m2 = MERCHANTS[0].id, MERCHANTS[1].id
    await b(sql.PING)
    await b(sql.MERCHANT_BY_KEY_HASH, key_hash)
    await b(sql.MERCHANT_BY_KEY_HASH, "0" * 64)
    await b(sql.MERCHANT_BY_ID, m2)
    await b(sql.MERCHANT_BY_ID, "merchant_9")
    # payments: jsonb reorders metadata keys, and the answer shows the stored order
    meta = json.dumps({"zz": "1", "a": "2", "mm": "3"})
    await b(sql.INSERT_PAYMENT, "pay_a", m1, "ord_a", 10000, "INR", "juspay", "card", "d", "c",
            meta)  # fmt: skip
    await b(sql.INSERT_PAYMENT, "pay_b", m1, "ord_a", 500, "INR", "paytm", "upi", None, None, "{}")
    await b(sql.INSERT_PAYMENT, "pay_c", m1, "ord_c", 500, "INR", "paytm", "upi", None, None,
            '{"k": "v"}')  # fmt: skip
    await b(sql.INSERT_PAYMENT, "pay_d", m2, "ord_a", 700, "USD", "juspay", "card", None, None,
            "{}")  # fmt: skip
    await b(sql.GET_PAYMENT, "pay_a", m1)
    await b(sql.GET_PAYMENT, "pay_a", m2)
    await b(sql.GET_PAYMENT_BY_ORDER, m1, "ord_a")
    await b(sql.GET_PAYMENT_BY_ORDER, m2, "ord_zz")
    # attempts: begin once, record a pending answer, settle, refuse to settle twice
    await b(sql.BEGIN_ATTEMPT, "pay_a", m2, "att_x")
    await b(sql.BEGIN_ATTEMPT, "pay_a", m1, "att_1")
    await b(sql.BEGIN_ATTEMPT, "pay_a", m1, "att_2")
    await b(sql.GET_ATTEMPT, "att_1")
    await b(sql.GET_ATTEMPT, "att_9")
    await b(sql.SETTLE_ATTEMPT, "pay_a", "att_1", "pending", None, "PENDING_VBV", None, None, None)
    await b(sql.UNSETTLED_ATTEMPTS, 0.0, 10)
    await b(sql.UNSETTLED_ATTEMPTS, 3600.5, 10)
    await b(sql.SETTLE_ATTEMPT, "pay_a", "att_1", "succeeded", "txn_1", None, None, None,
            "succeeded")  # fmt: skip
    await b(sql.GET_ATTEMPT, "att_1")
    await b(sql.SETTLE_ATTEMPT, "pay_a", "att_1", "failed", None, "X", "E", "m", "failed")
    await b(sql.BEGIN_ATTEMPT, "pay_c", m1, "att_3")
    await b(sql.SETTLE_ATTEMPT, "pay_c", "att_3", "failed", "txn_3", "DECLINED", "E51",
            "declined", "failed")  # fmt: skip
    await b(sql.BEGIN_ATTEMPT, "pay_c", m1, "att_4")
    # created and confirmed at once: processing with its attempt, a taken order id refused
    await b(sql.INSERT_PAYMENT_WITH_ATTEMPT, "pay_e", m1, "ord_e", 900, "INR", "juspay", "card",
            None, "c", meta, "att_5")  # fmt: skip
    await b(sql.INSERT_PAYMENT_WITH_ATTEMPT, "pay_f", m1, "ord_e", 900, "INR", "juspay", "card",
            None, None, "{}", "att_6")  # fmt: skip
    await b(sql.GET_ATTEMPT, "att_5")
    await b(sql.GET_ATTEMPT, "att_6")
    await b(sql.BEGIN_ATTEMPT, "pay_e", m1, "att_7")  # already processing
    await b(sql.SETTLE_ATTEMPT, "pay_e", "att_5", "succeeded", "txn_5", "CHARGED", None, None,
            "succeeded")  # fmt: skip
    # refunds: bounds, a pending answer, success, failure (frees the reservation), full
    await b(sql.RESERVE_REFUND, "pay_c", m1, "re_0", 100, None)  # a failed payment
    await b(sql.RESERVE_REFUND, "pay_a", m2, "re_0", 100, None)  # another merchant's
    await b(sql.RESERVE_REFUND, "pay_a", m1, "re_1", 3000, "requested")
    await b(sql.RESERVE_REFUND, "pay_a", m1, "re_2", 7001, None)  # over the bound
    await b(sql.UNSETTLED_REFUNDS_OF_PAYMENT, "pay_a")
    await b(sql.UNSETTLED_REFUNDS, 0.0, 10)
    await b(sql.SETTLE_REFUND, "re_1", "pending", None, None, None)
    await b(sql.SETTLE_REFUND, "re_1", "succeeded", "grf_1", None, None)
    await b(sql.SETTLE_REFUND, "re_1", "failed", None, "E", "late")
    await b(sql.GET_PAYMENT, "pay_a", m1)
    await b(sql.RESERVE_REFUND, "pay_a", m1, "re_3", 7000, None)
    await b(sql.SETTLE_REFUND, "re_3", "failed", None, "E", "refused")
    await b(sql.GET_PAYMENT, "pay_a", m1)
    await b(sql.RESERVE_REFUND, "pay_a", m1, "re_4", 7000, None)
    await b(sql.SETTLE_REFUND, "re_4", "succeeded", "grf_4", None, None)
    await b(sql.GET_PAYMENT, "pay_a", m1)
    await b(sql.GET_REFUND, "re_1", m1)
    await b(sql.GET_REFUND, "re_1", m2)
    await b(sql.GET_REFUND_BY_ID, "re_3")
    await b(sql.GET_REFUND_BY_ID, "re_9")
    await b(sql.UNSETTLED_REFUNDS_OF_PAYMENT, "pay_a")
    # webhook events: recorded once per gateway, then a duplicate
    await b(sql.RECORD_WEBHOOK_EVENT, "juspay", "evt_1")
    await b(sql.RECORD_WEBHOOK_EVENT, "paytm", "evt_1")
    await b(sql.RECORD_WEBHOOK_EVENT, "juspay", "evt_1")
    # idempotency keys: claim, in flight, finish, replay, release, stale takeover, prune
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k1", FP, 60.0)
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k1", FP, 60.0)
    await b(sql.IDEMPOTENCY_CLAIM, m2, "k1", FP, 60.0)
    await b(sql.IDEMPOTENCY_GET, m1, "k1")
    await b(sql.IDEMPOTENCY_FINISH, m1, "k1", 201, b'{"id":"pay_a"}')
    await b(sql.IDEMPOTENCY_GET, m1, "k1")
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k1", FP, 0.0)  # a finished key is never taken over
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k2", FP, 60.0)
    await b(sql.IDEMPOTENCY_RELEASE, m1, "k2")
    await b(sql.IDEMPOTENCY_GET, m1, "k2")
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k3", FP, 60.0)
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k3", OTHER_FP, 0.0)  # another request: never
    await b(sql.IDEMPOTENCY_CLAIM, m1, "k3", FP, 0.0)  # died in flight: taken over
    await b(sql.IDEMPOTENCY_GET, m1, "k3")
    await b(sql.IDEMPOTENCY_PRUNE)
    await b(sql.IDEMPOTENCY_GET, m1, "k1")
