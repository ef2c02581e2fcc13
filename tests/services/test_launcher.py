"""Every service's ``serve`` command refuses bad settings before starting anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

MODULES = {"legacy": "legacy_adapter", "engine": "engine", "sanic": "sanic_service"}


def _serve(module: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    return subprocess.run(
        [sys.executable, "-m", module, "serve", "--port", "1", *extra],
        env={**base, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("target", sorted(MODULES))
def test_missing_setting_is_named_and_nothing_starts(target: str) -> None:
    """Without PAYBENCH_DATABASE_URL the command exits 2 naming it, with no traceback."""
    done = _serve(MODULES[target], {"PAYBENCH_REDIS_URL": "redis://127.0.0.1:1/0",
                                    "PAYBENCH_GATEWAY_URL": "http://127.0.0.1:1"})  # fmt: skip
    assert done.returncode == 2
    assert "PAYBENCH_DATABASE_URL is not set" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("target", sorted(MODULES))
def test_zero_workers_is_refused(target: str) -> None:
    """--workers 0 is a usage error (exit 2) on every service."""
    done = _serve(MODULES[target], {}, "--workers", "0")
    assert done.returncode == 2
    assert "--workers must be >= 1" in done.stderr
