"""One real stack per test session: gateway simulator, the services, real PostgreSQL and Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from stack.provision import MerchantSeed
from stack.services import Stack, StackConfig

TARGETS = ("legacy", "engine", "sanic")


def database_url() -> str:
    return os.environ["PAYBENCH_TEST_DATABASE_URL"]  # set by tests/conftest.py


def redis_url() -> str:
    return os.environ["PAYBENCH_TEST_REDIS_URL"]


def stack_config(log_dir: Path, **overrides: Any) -> StackConfig:
    """The test stack's configuration: the three services on the test servers, instant
    gateway; ``overrides`` change single fields."""
    fields: dict[str, Any] = {
        "log_dir": log_dir, "database_url": database_url(), "redis_url": redis_url(),
        "targets": TARGETS, "workers": 2, "db_pool_size": 4, "gateway_profile": "instant",
        "gateway_timeout_s": 2.0, "merchants": 3,
    }
    fields.update(overrides)
    return StackConfig(**fields)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = stack_config(tmp_path_factory.mktemp("stack-logs"))
    with Stack(config) as running:
        yield running


@dataclass
class Target:
    """One service under test, with helpers that talk to it and to its storage."""

    name: str
    url: str
    schema: str
    redis_prefix: str
    merchants: list[MerchantSeed]
    log_dir: Path

    def client(self, merchant: int = 0, **kwargs: Any) -> httpx.Client:
        key = self.merchants[merchant].api_key
        return httpx.Client(base_url=self.url, auth=(key, ""), timeout=30, **kwargs)

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def count(self, table: str) -> int:
        with psycopg.connect(database_url(), autocommit=True) as conn:
            row = conn.execute(f'SELECT count(*) FROM "{self.schema}"."{table}"').fetchone()
        assert row is not None
        return int(row[0])

    def sql(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(database_url(), autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            return conn.execute(statement, args).fetchall()

    def cached(self, merchant_id: str, payment_id: str) -> bytes | None:
        r = redis.Redis.from_url(redis_url())
        try:
            value = r.get(f"{self.redis_prefix}pay:{merchant_id}:{payment_id}")
        finally:
            r.close()
        return value  # type: ignore[return-value]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, stack: Stack) -> Target:
    name: str = request.param
    return Target(
        name=name,
        url=stack.urls[name],
        schema=stack.schemas[name],
        redis_prefix=stack.redis_prefixes[name],
        merchants=stack.merchants[name],
        log_dir=stack.config.log_dir,
    )


@pytest.fixture
def every(stack: Stack) -> dict[str, Target]:
    """Every service under test, by name."""
    return {
        name: Target(name, stack.urls[name], stack.schemas[name], stack.redis_prefixes[name],
                     stack.merchants[name], stack.config.log_dir)
        for name in TARGETS
    }


def new_order() -> str:
    return f"ord_{uuid.uuid4().hex[:20]}"


def payment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": new_order(),
        "amount": 10000,
        "currency": "INR",
        "gateway": "juspay",
        "payment_method": "card",
    }
    body.update(changes)
    return body


def wait_for_status(
    client: httpx.Client, path: str, statuses: set[str], timeout_s: float = 10.0
) -> dict[str, Any]:
    """Poll ``GET path`` until its status is one of ``statuses`` (webhooks arrive async)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body.get("status") in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.1)
