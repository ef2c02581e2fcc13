"""The generic plans of the services' statements reach rows by a selective key.

Both services prepare their statements (asyncpg always, psycopg after a few
executions), and PostgreSQL may then switch to a *generic* plan made once,
often while the run's fresh tables are still empty, and kept for the life of
the connection. Such a plan must still find a payment by its id, not walk a
merchant's whole range of payments filtering on the id, which makes every
request cost O(payments of the merchant).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from payments import sql
from stack.provision import demo_merchants, drop_target, provision_target

# Statements of the background reconciler and housekeeping: they range-scan
# partial indexes of unsettled rows (bounded by LIMIT) or expired keys by design.
RANGE_SCANS = {"UNSETTLED_ATTEMPTS", "UNSETTLED_REFUNDS", "IDEMPOTENCY_PRUNE", "TRUNCATE_ALL"}

# For each table, a condition on one of these columns pins at most a few rows.
SELECTIVE = {
    "payments": ("id", "order_id"),
    "payment_attempts": ("id", "payment_id"),
    "refunds": ("id", "payment_id"),
    "idempotency_keys": ("key",),
    "merchants": ("id", "api_key_hash"),
    "webhook_events": ("event_id",),
}


def _statements() -> list[str]:
    return sorted(
        name for name, value in vars(sql).items()
        if name.isupper() and isinstance(value, str) and "$1" in value
        and name not in RANGE_SCANS
    )  # fmt: skip


@pytest.fixture(scope="module")
def fresh_schema() -> Iterator[tuple[str, str]]:
    url = os.environ["PAYBENCH_TEST_DATABASE_URL"]
    schema = f"plans_{secrets.token_hex(4)}"
    provision_target(url, schema, demo_merchants(1, 1))
    yield url, schema
    drop_target(url, schema)


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in plan:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


@pytest.mark.parametrize("name", _statements())
def test_generic_plan_on_empty_tables_uses_a_selective_key(
    fresh_schema: tuple[str, str], name: str
) -> None:
    """Every table a statement reads or locks is reached through a key that pins its rows."""
    url, schema = fresh_schema
    text = getattr(sql, name)
    arity = max(n for n in range(1, text.count("$") + 1) if f"${n}" in text)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE s AS {text}")
        nulls = ", ".join(["NULL"] * arity)
        explain = f"EXPLAIN (FORMAT JSON) EXECUTE s({nulls})"
        row = conn.execute(explain).fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    for scan in _scans(plan[0]["Plan"]):
        table = scan["Relation Name"]
        if scan["Node Type"] == "ModifyTable":  # writes what its child scan found
            continue
        cond = scan.get("Index Cond", "")
        keys = SELECTIVE.get(table, ())
        assert scan["Node Type"] != "Seq Scan", (name, table)
        index = scan.get("Index Name")
        assert any(f"({key} = " in cond for key in keys), (name, table, index, cond)
