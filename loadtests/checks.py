"""The values a run setting allows: the choices, the checks that need the whole
configuration, and the checks between settings.

A knob's own check is part of its declaration (:mod:`loadtests.knobs`); it runs on the
value every source gave it (``paybench.toml``, a ``PAYBENCH_*`` variable, ``--quick``, a
flag), even a value a later source overrides, so a bad line in ``paybench.toml`` is
reported whichever flags a run adds; the message names the source. The checks between
knobs (:func:`validate`) run once, on the resolved configuration.

This module sits below :mod:`loadtests.config`, whose declarations use it, so it names
``RunConfig`` only in annotations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loadtests.errors import ConfigError
from loadtests.knobs import Check

if TYPE_CHECKING:
    from loadtests.config import RunConfig

SERVICE_TARGETS = ("legacy", "engine", "sanic")
MODELS = ("capacity", "closed", "open")
SCENARIOS = ("checkout", "browse", "refunds", "retry_storm", "mixed", "ping")
GATEWAY_PROFILES = ("instant", "fast", "realistic")
ORDERS = ("alternate", "abba", "shuffle")


def parse_slo(spec: str) -> list[Any]:
    """SLO gates of ``p99<500ms,errors<1%`` (the report's own parser); ValueError when bad."""
    # reports loads pandas: the command line and the Locust child import this module
    from reports.gates import parse_slo as parse_gates  # noqa: PLC0415 - pandas, see above

    return parse_gates(spec)


def slo_limits(spec: str) -> tuple[float | None, float | None]:
    """The p99 limit (ms) and the error-ratio limit an SLO spec sets (None: not set)."""
    from reports.gates import slo_limits as limits  # noqa: PLC0415 - pandas, as parse_slo

    return limits(parse_slo(spec))


def scenario(name: str, value: Any, config: RunConfig) -> str | None:
    """A built-in scenario, unless a custom locustfile replaces it."""
    if value in SCENARIOS or config.locustfile is not None:
        return None
    return f"scenario must be one of {', '.join(SCENARIOS)}"


def targets(name: str, value: Any, config: RunConfig) -> str | None:
    """Distinct services paybench starts, or targets named by ``target_urls``."""
    if len(value) < 1:
        return "targets must name at least one target"
    if len(set(value)) != len(value):
        return "targets must be distinct"
    known = set(SERVICE_TARGETS) | {target for target, _ in config.target_urls}
    for target in value:
        if target not in known:
            return (f"unknown target {target!r}: use {', '.join(SERVICE_TARGETS)} or give "
                    f"--target-url {target}=URL")
    return None


def url_of(scheme: str) -> Check:
    """A check that a URL, when set, has ``scheme``."""

    def check(name: str, value: Any, config: RunConfig) -> str | None:
        if value is not None and not str(value).startswith(scheme):
            return f"{name} must be a {scheme} URL, got {value!r}"
        return None

    return check


def slo(name: str, value: Any, config: RunConfig) -> str | None:
    """An SLO spec the report can parse."""
    if not value:
        return None
    try:
        parse_slo(value)
    except ValueError as exc:
        return f"slo: {exc}"
    return None


def locustfile(name: str, value: Any, config: RunConfig) -> str | None:
    """An existing file, when set."""
    if value is None or value.is_file():
        return None
    return f"locustfile {value} does not exist"


def _between(config: RunConfig) -> list[tuple[bool, str]]:
    return [
        (config.open_drop_after_ms > config.open_late_ms,
         "open_drop_after_ms must exceed open_late_ms"),
        (not (config.load_model == "capacity" and config.rate is not None),
         "a capacity search chooses its own rates: drop rate, or use load_model open"),
        (not (config.load_model == "open" and config.rate is None),
         "the open model needs rate (iterations per second)"),
        (config.search_floor <= config.search_start, "search_start must be >= search_floor > 0"),
        (not (config.sweep_users and config.sweep_rates),
         "give sweep_users or sweep_rates, not both"),
    ]


def validate(config: RunConfig) -> None:
    """Raise :class:`ConfigError` on the first inconsistency between knobs."""
    for ok, message in _between(config):
        if not ok:
            raise ConfigError(message)
    external = [t for t in config.targets if config.external_url(t)]
    if external and not config.api_keys:
        raise ConfigError(
            f"targets {', '.join(external)} are external: give their merchant API keys "
            "with --api-keys or PAYBENCH_API_KEYS"
        )
    stray = [t for t in config.slo_targets if t not in config.targets]
    if stray:
        raise ConfigError(f"slo_targets names {', '.join(stray)}, not among the targets "
                          f"({', '.join(config.targets)})")
