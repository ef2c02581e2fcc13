"""Entry points that must start light: what importing each one loads, in a fresh interpreter.

Imports at the top of a module are the rule (ruff's PLC0415); these tests catch one moved
to the top that drags a heavy library into a command's start-up, or prometheus_client in
before a service has set its metrics directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "matplotlib", "scipy", "locust", "gevent")


def _loaded(module: str) -> set[str]:
    """Top-level names of the packages that importing ``module`` loads."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\nimport {module}\nprint('\\n'.join(sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return {name.partition(".")[0] for name in done.stdout.split()}


def test_cli_start_up_loads_no_heavy_library() -> None:
    """`paybench --help` imports paybench.cli without pandas, matplotlib, scipy or Locust."""
    loaded = _loaded("paybench.cli")
    assert "loadtests" in loaded
    assert [name for name in HEAVY if name in loaded] == []


@pytest.mark.parametrize("module", ["serving.command", "sanic_service.__main__"])
def test_serve_command_leaves_prometheus_client_unloaded(module: str) -> None:
    """A service's `serve` command imports prometheus_client only after it set the
    metrics directory, so importing the command loads none of it."""
    loaded = _loaded(module)
    assert "serving" in loaded
    assert "prometheus_client" not in loaded


def test_stack_loads_no_report_library() -> None:
    """The stack (services, resources, environment) runs without pandas or matplotlib."""
    loaded = _loaded("stack.services, stack.resources, stack.environment")
    assert "psutil" in loaded
    assert [name for name in ("pandas", "matplotlib", "scipy") if name in loaded] == []
