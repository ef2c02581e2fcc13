"""Scenario settings, read once from the environment when a locustfile is imported.

Locust runs a locustfile as its own program, so this module is that program's edge: the
harness (or a person running ``locust -f`` directly) passes everything as ``PAYBENCH_*``
environment variables, and nothing below this module reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ScenarioSettings:
    """What the scenario users need to know besides the host."""

    api_keys: tuple[str, ...]
    think_time_s: float = 0.0
    poll_interval_s: float = 0.2
    poll_max: int = 25
    retry_concurrency: int = 4
    browse_pool: int = 5
    seed: int = 1


def from_env(env: Mapping[str, str] | None = None) -> ScenarioSettings:
    """Build the settings from ``PAYBENCH_*`` variables.

    ``PAYBENCH_API_KEYS`` (comma list) is needed by every scenario except ``ping``; a
    Locust run of payment users without it stops at start with one line and exit code 2.
    """
    env = os.environ if env is None else env
    keys = tuple(k.strip() for k in env.get("PAYBENCH_API_KEYS", "").split(",") if k.strip())
    return ScenarioSettings(
        api_keys=keys,
        think_time_s=float(env.get("PAYBENCH_THINK_TIME_S", "0")),
        poll_interval_s=float(env.get("PAYBENCH_POLL_INTERVAL_S", "0.2")),
        poll_max=int(env.get("PAYBENCH_POLL_MAX", "25")),
        retry_concurrency=int(env.get("PAYBENCH_RETRY_CONCURRENCY", "4")),
        browse_pool=int(env.get("PAYBENCH_BROWSE_POOL", "5")),
        seed=int(env.get("PAYBENCH_SEED", "1")),
    )
