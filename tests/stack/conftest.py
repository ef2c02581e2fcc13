"""Fixtures for the stack tests: a clean environment and a log directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATABASE_URL = "postgresql://root@127.0.0.1:5432/test"
SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"
HERE = Path(__file__).resolve().parent


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PAYBENCH_* setting leaks from the caller's shell into a test."""
    for key in list(os.environ):
        if key.startswith("PAYBENCH_"):
            monkeypatch.delenv(key)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
