"""The Tortoise driver answers every statement of payments/sql.py as the SQL itself does."""

from __future__ import annotations

import pytest

from payments import sql
from payments.effects import Query
from sanic_service import driver
from tests.sanic_service.walk import Pair, walk


def statements_of_sql_module() -> set[str]:
    return {v for k, v in vars(sql).items()
            if k.isupper() and not k.startswith("_") and isinstance(v, str)}


async def test_every_statement_maps_to_the_same_rows(pair: Pair) -> None:
    """Each statement through the driver returns the rows the SQL returns, in every state."""
    await walk(pair)
    assert pair.calls > 60


def test_every_statement_of_the_services_has_a_mapping() -> None:
    """The driver maps every statement of payments/sql.py except the stack's own TRUNCATE."""
    statements = statements_of_sql_module()
    assert set(driver.STATEMENTS) == statements - driver.NOT_SERVED
    assert statements >= driver.NOT_SERVED


async def test_an_unmapped_statement_is_a_clear_error() -> None:
    """SQL the driver does not know raises UnmappedStatement naming it, and runs nothing."""
    with pytest.raises(driver.UnmappedStatement, match="DELETE FROM payments"):
        await driver.run(Query("DELETE FROM payments", ()))
