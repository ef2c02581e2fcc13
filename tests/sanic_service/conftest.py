"""Two fresh schemas on the test database, one per driver, and Tortoise's statement log."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from tortoise.context import TortoiseContext

from payments.config import ServiceSettings
from sanic_service.app import tortoise_config
from stack.provision import drop_target, provision_target
from tests.sanic_service.walk import MERCHANTS, Pair


def database_url() -> str:
    return os.environ["PAYBENCH_TEST_DATABASE_URL"]  # set by tests/conftest.py


class SqlLog(logging.Handler):
    """Every statement Tortoise's database clients send (each is logged at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            self.statements.append(record.args[0])


@pytest.fixture
def schemas() -> Iterator[tuple[str, str]]:
    """(raw side, ORM side): provisioned from the migrations, dropped afterwards."""
    tag = secrets.token_hex(3)
    names = (f"drv_raw_{tag}", f"drv_orm_{tag}")
    for name in names:
        provision_target(database_url(), name, MERCHANTS)
    yield names
    for name in names:
        drop_target(database_url(), name)


@pytest.fixture
def sql_log() -> Iterator[SqlLog]:
    handler = SqlLog()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
async def pair(schemas: tuple[str, str]) -> AsyncIterator[Pair]:
    """An asyncpg pool on the raw schema; Tortoise, configured as the service does, on the other."""
    raw_schema, orm_schema = schemas
    pool = await asyncpg.create_pool(database_url(), min_size=1, max_size=2,
                                     server_settings={"search_path": raw_schema})  # fmt: skip
    settings = ServiceSettings(database_url(), "redis://unused", "http://unused",
                               db_schema=orm_schema, db_pool_size=2)  # fmt: skip
    try:
        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(settings))
            yield Pair(pool)
    finally:
        await pool.close()
