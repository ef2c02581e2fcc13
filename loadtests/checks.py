"""Validation of a run configuration: each knob's range, then the knobs against each other.

Each knob's check runs on the value every source gave it (``paybench.toml``, a
``PAYBENCH_*`` variable, ``--quick``, a flag), even a value a later source overrides, so
a bad line in ``paybench.toml`` is reported whichever flags a run adds; the message names
the source. The checks between knobs run once, on the resolved configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loadtests.config import (
    GATEWAY_PROFILES,
    MODELS,
    ORDERS,
    SCENARIOS,
    SERVICE_TARGETS,
    RunConfig,
    parse_slo,
)
from loadtests.errors import ConfigError

# (value, resolved configuration) -> what is wrong, or None
Check = Callable[[Any, RunConfig], str | None]


def _rule(ok: Callable[[Any], bool], message: str) -> Check:
    def check(value: Any, config: RunConfig) -> str | None:
        return None if ok(value) else message

    return check


def _scenario(value: Any, config: RunConfig) -> str | None:
    if value in SCENARIOS or config.locustfile is not None:
        return None
    return f"scenario must be one of {', '.join(SCENARIOS)}"


def _targets(value: Any, config: RunConfig) -> str | None:
    if len(value) < 1:
        return "targets must name at least one target"
    if len(set(value)) != len(value):
        return "targets must be distinct"
    known = set(SERVICE_TARGETS) | {name for name, _ in config.target_urls}
    for target in value:
        if target not in known:
            return (f"unknown target {target!r}: use {', '.join(SERVICE_TARGETS)} or give "
                    f"--target-url {target}=URL")
    return None


def _url(name: str, scheme: str) -> Check:
    def check(value: Any, config: RunConfig) -> str | None:
        if value is not None and not str(value).startswith(scheme):
            return f"{name} must be a {scheme} URL, got {value!r}"
        return None

    return check


def _slo(value: Any, config: RunConfig) -> str | None:
    if not value:
        return None
    try:
        parse_slo(value)
    except ValueError as exc:
        return f"slo: {exc}"
    return None


def _locustfile(value: Any, config: RunConfig) -> str | None:
    if value is None or value.is_file():
        return None
    return f"locustfile {value} does not exist"


def _positive(name: str) -> Check:
    return _rule(lambda v: v > 0, f"{name} must be > 0")


def _not_negative(name: str) -> Check:
    return _rule(lambda v: v >= 0, f"{name} must be >= 0")


def _at_least_one(name: str) -> Check:
    return _rule(lambda v: v >= 1, f"{name} must be >= 1")


def _one_of(name: str, allowed: tuple[str, ...]) -> Check:
    return _rule(lambda v: v in allowed, f"{name} must be one of {', '.join(allowed)}")


KNOB_CHECKS: dict[str, Check] = {
    "users": _at_least_one("users"),
    "spawn_rate": _rule(lambda v: v is None or v > 0, "spawn_rate must be > 0"),
    "rate": _rule(lambda v: v is None or v > 0, "rate must be > 0"),
    "duration_s": _positive("duration_s"),
    "warmup_s": _not_negative("warmup_s"),
    "trials": _at_least_one("trials"),
    "processes": _at_least_one("processes"),
    "workers": _at_least_one("workers"),
    "db_pool_size": _at_least_one("db_pool_size"),
    "merchants": _at_least_one("merchants"),
    "think_time_s": _not_negative("think_time_s"),
    "gateway_timeout_s": _positive("gateway_timeout_s"),
    "reconcile_interval_s": _not_negative("reconcile_interval_s"),
    "open_late_ms": _positive("open_late_ms"),
    "open_drop_after_ms": _positive("open_drop_after_ms"),
    "open_max_behind": _rule(lambda v: 0 <= v <= 1, "open_max_behind must be within 0..1"),
    "stop_timeout_s": _not_negative("stop_timeout_s"),
    "drain_s": _positive("drain_s"),
    "idle_timeout_s": _positive("idle_timeout_s"),
    "step_duration_s": _positive("step_duration_s"),
    "step_warmup_s": _not_negative("step_warmup_s"),
    "step_trials": _at_least_one("step_trials"),
    "load_model": _one_of("load_model", MODELS),
    "slo_factor": _rule(lambda v: v > 1, "slo_factor must be > 1"),
    "search_start": _positive("search_start"),
    "search_floor": _positive("search_floor"),
    "search_resolution": _rule(lambda v: 0 < v < 1, "search_resolution must be within 0..1"),
    "search_warmup_s": _not_negative("search_warmup_s"),
    "search_duration_s": _positive("search_duration_s"),
    "confirm_trials": _at_least_one("confirm_trials"),
    "targets": _targets,
    "order": _one_of("order", ORDERS),
    "scenario": _scenario,
    "gateway_profile": _one_of("gateway_profile", GATEWAY_PROFILES),
    "sweep_profiles": _rule(lambda v: all(p in GATEWAY_PROFILES for p in v),
                            f"sweep_profiles must be among {', '.join(GATEWAY_PROFILES)}"),
    "sweep_users": _rule(lambda v: all(u >= 1 for u in v), "sweep_users must be >= 1"),
    "sweep_rates": _rule(lambda v: all(r > 0 for r in v), "sweep_rates must be > 0"),
    "sweep_gateway_ms": _rule(lambda v: all(g >= 0 for g in v), "sweep_gateway_ms must be >= 0"),
    "locustfile": _locustfile,
    "database_url": _url("database_url", "postgres"),
    "redis_url": _url("redis_url", "redis"),
    "slo": _slo,
}


def check_value(knob: str, value: Any, config: RunConfig, source: str | None) -> None:
    """Raise :class:`ConfigError` naming ``source`` when ``value`` is bad for ``knob``."""
    check = KNOB_CHECKS.get(knob)
    problem = check(value, config) if check is not None else None
    if problem is not None:
        raise ConfigError(problem, source=source)


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
    """Raise :class:`ConfigError` on the first out-of-range or inconsistent value."""
    for knob, check in KNOB_CHECKS.items():
        problem = check(getattr(config, knob), config)
        if problem is not None:
            raise ConfigError(problem)
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
