"""Shared helpers of the load-test harness tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.config import RunConfig, resolve


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The process environment without any PAYBENCH_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}


@pytest.fixture
def isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory without paybench.toml or pyproject.toml."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ping_config(tmp_path: Path, **overrides: object) -> RunConfig:
    """A configuration driving the ``ping`` scenario, resolved like the CLI does."""
    cli: dict[str, object] = {"scenario": "ping", "users": 10, "stop_timeout_s": 1}
    cli.update(overrides)
    return resolve(cli, env={}, cwd=tmp_path)


class RecordingStack:
    """A stand-in for the running stack that logs the calls a trial makes."""

    gateway_url = "http://127.0.0.1:9"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def check_alive(self) -> None:
        self.calls.append(("check_alive", ""))

    def processes(self) -> list[tuple[str, int]]:
        return [("harness", os.getpid())]

    def reset(self, target: str) -> None:
        self.calls.append(("reset", target))
