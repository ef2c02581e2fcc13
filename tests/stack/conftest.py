"""Fixtures for the stack tests: a clean environment and a log directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_database_url() -> str:
    """The suite's PostgreSQL (given or embedded; see tests/conftest.py)."""
    return os.environ["PAYBENCH_TEST_DATABASE_URL"]


def shared_redis_url() -> str:
    """The suite's Redis (given or embedded; see tests/conftest.py)."""
    return os.environ["PAYBENCH_TEST_REDIS_URL"]


HERE = Path(__file__).resolve().parent


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PAYBENCH_* setting leaks from the caller's shell into a test."""
    for key in list(os.environ):
        if key.startswith("PAYBENCH_") and not key.startswith("PAYBENCH_TEST_"):
            monkeypatch.delenv(key)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
