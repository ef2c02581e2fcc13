"""Fixtures for the report tests: committed runs copied to a temp dir, synthetic runs."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reports import render_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load_make_run() -> ModuleType:
    # tests/ is not a package, so the generator is loaded by path
    spec = importlib.util.spec_from_file_location("paybench_make_run", FIXTURES / "make_run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


MAKE_RUN = _load_make_run()


@pytest.fixture
def make_run() -> ModuleType:
    """The synthetic run generator module (RunSpec, make_run, PROFILES)."""
    return MAKE_RUN


@pytest.fixture
def small_run(tmp_path: Path) -> Path:
    """A writable copy of the committed 2 targets x 3 trials fixture."""
    return Path(shutil.copytree(FIXTURES / "run_small", tmp_path / "run_small"))


@pytest.fixture
def sweep_run(tmp_path: Path) -> Path:
    """A writable copy of the committed open-model sweep fixture."""
    return Path(shutil.copytree(FIXTURES / "run_sweep", tmp_path / "run_sweep"))


@pytest.fixture(scope="module")
def rendered_small(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The small fixture rendered once per module (rendering draws every figure)."""
    root = tmp_path_factory.mktemp("rendered") / "run_small"
    return render_run(Path(shutil.copytree(FIXTURES / "run_small", root)))


@pytest.fixture
def synth(tmp_path: Path) -> Callable[..., Path]:
    """Build a synthetic run under tmp_path from RunSpec keyword arguments."""

    def build(name: str = "run", **kwargs: Any) -> Path:
        return Path(MAKE_RUN.make_run(tmp_path / name, MAKE_RUN.RunSpec(**kwargs)))

    return build
