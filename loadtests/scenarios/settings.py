"""Scenario settings, read once from the environment when a locustfile is imported.

Locust runs a locustfile as its own program, so this module is that program's edge: the
harness (or a person running ``locust -f`` directly) passes everything as ``PAYBENCH_*``
environment variables, and nothing below this module reads the environment.

The settings are the run's: each knob of :class:`loadtests.config.RunConfig` declared
``child=True`` (``think_time_s``, ``poll_interval_s``, ``poll_max``, ``retry_concurrency``,
``browse_pool``, ``seed``, ``api_keys``...) from its ``PAYBENCH_<NAME>`` variable, with
the run's defaults, parsers and checks; ``api_keys`` holds the keys of the target under
load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from loadtests.config import RunConfig, child_config


def from_env(env: Mapping[str, str] | None = None) -> RunConfig:
    """Build the settings from ``PAYBENCH_*`` variables.

    ``PAYBENCH_API_KEYS`` (comma list) is needed by every scenario except ``ping``; a
    Locust run of payment users without it stops at start with one line and exit code 2.
    """
    return child_config(os.environ if env is None else env)
