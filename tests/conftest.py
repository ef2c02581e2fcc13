"""Test servers for the whole suite: real PostgreSQL and Redis, never mocks.

``PAYBENCH_TEST_DATABASE_URL`` and ``PAYBENCH_TEST_REDIS_URL`` name them (CI
points them at the machine's servers). When either is unset, the suite
starts an embedded server for it, exactly as ``paybench`` does on a fresh
machine, and stops it at the end; unless every selected test is marked
``pure`` (the sans-I/O core driven by scripted effects), which needs none.

No test leaves a process behind: every test is checked for orphans, the
session as a whole for any process (tests/process_guard.py); leftovers are
killed and reported as errors. A ``pure`` test starts nothing, so it skips
the per-test check, which costs far more than the test itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from stack.infra import Infra
from tests.process_guard import left_by, mark_environment, suite_processes

DB_VAR = "PAYBENCH_TEST_DATABASE_URL"
REDIS_VAR = "PAYBENCH_TEST_REDIS_URL"
_STARTED = pytest.StashKey[Infra]()


def pytest_configure(config: pytest.Config) -> None:
    # First: every process the suite starts inherits the mark (see tests/process_guard.py).
    mark_environment()


def pytest_collection_finish(session: pytest.Session) -> None:
    if all(item.get_closest_marker("pure") is not None for item in session.items):
        return
    config = session.config
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


@pytest.fixture(scope="session", autouse=True)
def _session_leaves_no_process() -> Iterator[None]:
    """No process started by the suite's fixtures outlives the session."""
    before = suite_processes()
    yield
    left = left_by(before)
    assert not left, "the suite left processes running (now killed):\n" + "\n".join(left)


@pytest.fixture(autouse=True)
def _test_leaves_no_orphan(request: pytest.FixtureRequest) -> Iterator[None]:
    """No process a test starts is left running without a parent in the suite."""
    if request.node.get_closest_marker("pure") is not None:
        yield  # no I/O, no process: nothing to look for
        return
    before = suite_processes(orphans_only=True)
    yield
    left = left_by(before, orphans_only=True)
    assert not left, "the test left orphan processes (now killed):\n" + "\n".join(left)
