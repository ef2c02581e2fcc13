"""The run directory's other JSON files, whose content belongs to their producers:
``environment.json`` (``stack.environment``), ``gateway_ledger.json`` (the gateway
simulator) and ``results.json`` (``reports``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rundir import layout
from rundir.jsondoc import read_json, read_object, write_json


def write_environment(run_dir: Path, environment: dict[str, Any]) -> None:
    """Write ``environment.json``."""
    write_json(run_dir / layout.ENVIRONMENT, environment)


def read_environment(run_dir: Path) -> dict[str, Any] | None:
    """``environment.json``, None when the run has none; ``DocError`` if it is corrupt or
    not an object."""
    path = run_dir / layout.ENVIRONMENT
    return read_object(path) if path.exists() else None


def write_ledger(run_dir: Path, ledger: Any) -> None:
    """Write ``gateway_ledger.json``."""
    write_json(run_dir / layout.LEDGER, ledger)


def read_ledger(run_dir: Path) -> Any:
    """``gateway_ledger.json``, None when the run has none; ``DocError`` if it is corrupt."""
    path = run_dir / layout.LEDGER
    return read_json(path) if path.exists() else None


def write_results(run_dir: Path, results: dict[str, Any]) -> Path:
    """Write ``results.json`` (strict JSON: no NaN or infinity); returns its path."""
    path = run_dir / layout.RESULTS
    write_json(path, results, allow_nan=False)
    return path


def read_results(run_dir: Path) -> dict[str, Any]:
    """``results.json``; ``DocError`` if it is missing, corrupt or not an object."""
    return read_object(run_dir / layout.RESULTS)
