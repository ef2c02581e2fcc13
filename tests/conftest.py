"""Test servers for the whole suite: real PostgreSQL and Redis, never mocks.

``PAYBENCH_TEST_DATABASE_URL`` and ``PAYBENCH_TEST_REDIS_URL`` name them (CI
points them at the machine's servers). When either is unset, the suite
starts an embedded server for it, exactly as ``paybench`` does on a fresh
machine, and stops it at the end.
"""

from __future__ import annotations

import os

import pytest

from stack.infra import Infra

DB_VAR = "PAYBENCH_TEST_DATABASE_URL"
REDIS_VAR = "PAYBENCH_TEST_REDIS_URL"
_STARTED = pytest.StashKey[Infra]()


def pytest_configure(config: pytest.Config) -> None:
    database_url = os.environ.get(DB_VAR) or None
    redis_url = os.environ.get(REDIS_VAR) or None
    if database_url is None or redis_url is None:
        infra = Infra(database_url, redis_url)
        infra.start()
        config.stash[_STARTED] = infra
        os.environ[DB_VAR] = infra.database_url
        os.environ[REDIS_VAR] = infra.redis_url


def pytest_unconfigure(config: pytest.Config) -> None:
    infra = config.stash.get(_STARTED, None)
    if infra is not None:
        infra.close()
        del config.stash[_STARTED]
