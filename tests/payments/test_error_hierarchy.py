"""One error hierarchy: every package's errors descend from PaybenchError, and every
configuration error, whichever package reads the value, is a payments.errors.ConfigError."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from contract.openapi import ContractError
from gateway_sim.config import PROFILES, apply_overrides
from gateway_sim.errors import SimError
from loadtests.config import resolve
from loadtests.errors import LoadtestError
from payments.config import ServiceSettings
from payments.errors import ConfigError, PaybenchError, PaymentError
from reports import ReportError, parse_slo
from shadow.errors import ShadowError
from shadow.normalize import rules_from_mapping
from stack.errors import StackError

ROOT = Path(__file__).resolve().parents[2]


def _run_setting(tmp_path: Path) -> None:
    resolve({"users": "0"}, env={}, cwd=tmp_path)


def _service_setting(tmp_path: Path) -> None:
    ServiceSettings.from_env({})


def _simulator_override(tmp_path: Path) -> None:
    apply_overrides(PROFILES["fast"], {"warp": 9})


def _shadow_rules(tmp_path: Path) -> None:
    rules_from_mapping({"nonsense": True})


def _slo_spec(tmp_path: Path) -> None:
    parse_slo("p99<<5")


@pytest.mark.parametrize(("raise_it", "family", "message"), [
    (_run_setting, LoadtestError, "users must be >= 1"),
    (_service_setting, ValueError, "PAYBENCH_DATABASE_URL is not set"),
    (_simulator_override, SimError, "unknown setting"),
    (_shadow_rules, ShadowError, "unknown keys"),
    (_slo_spec, ReportError, "bad gate"),
])
def test_each_package_raises_the_shared_config_error(
        tmp_path: Path, raise_it: Callable[[Path], None], family: type[Exception],
        message: str) -> None:
    """A bad value read by any package raises a ConfigError that is also of the package's
    own family (and a ValueError where it was one), with the package's message."""
    with pytest.raises(ConfigError, match=message) as caught:
        raise_it(tmp_path)
    assert isinstance(caught.value, family)
    assert isinstance(caught.value, PaybenchError)


def test_every_package_base_is_a_paybench_error() -> None:
    """Each package's own base error descends from the one root."""
    for base in (LoadtestError, StackError, ReportError, ShadowError, SimError, ContractError,
                 PaymentError, ConfigError):
        assert issubclass(base, PaybenchError), base


def test_source_leads_the_message() -> None:
    """A ConfigError given its source says it first, as the CLI prints it."""
    assert str(ConfigError("workers must be >= 1", source="PAYBENCH_WORKERS")) == \
        "PAYBENCH_WORKERS: workers must be >= 1"
    assert ConfigError("no source").source is None


def _our_modules(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    ours = ("payments", "loadtests", "stack", "shadow", "gateway_sim", "contract", "engine",
            "legacy_adapter", "serving", "sanic_service", "paybench", "reports")
    return [m for m in done.stdout.split() if m.split(".")[0] in ours]


def test_reports_imports_only_the_bottom_layer() -> None:
    """Importing reports loads no module of ours but payments.errors (and its package)."""
    loaded = _our_modules("import reports")
    assert "reports.render" in loaded
    assert [m for m in loaded if m.split(".")[0] != "reports"] == ["payments", "payments.errors"]


@pytest.mark.parametrize("module", [
    "payments.errors", "payments.config", "loadtests.errors", "loadtests.knobs",
    "loadtests.checks", "loadtests.config", "stack.errors", "reports.errors",
    "shadow.errors", "gateway_sim.errors", "contract.openapi",
])
def test_module_imports_first_without_a_cycle(module: str) -> None:
    """Each errors module, and each configuration module, imports on its own first."""
    assert module in _our_modules(f"import {module}")
