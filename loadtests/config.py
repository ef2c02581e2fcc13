"""Run configuration: every knob, its default, and how sources override each other.

Resolution happens once, at the CLI edge, into a frozen :class:`RunConfig`. Precedence,
lowest first:

1. the documented defaults below;
2. ``paybench.toml`` in the current directory (flat ``knob = value`` pairs), or else the
   ``[tool.paybench]`` table of ``pyproject.toml`` there;
3. environment variables ``PAYBENCH_<KNOB>`` (``PAYBENCH_DURATION_S=30``);
4. the ``--quick`` preset (a coarser, shorter search and shorter trials), when asked for on
   the command line;
5. command-line flags.

Any unknown key or invalid value raises :class:`ConfigError` naming its source (a value a
later source overrides is checked too, see :mod:`loadtests.checks`), and the CLI exits
with code 2 before anything starts. A ``PAYBENCH_*`` variable that is no setting is not an
error (the services and the locustfile read some), but a misspelt one gets a warning
(:func:`env_warnings`).
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from loadtests.errors import ConfigError

SERVICE_TARGETS = ("legacy", "engine", "sanic")
DEFAULT_TARGETS = SERVICE_TARGETS  # paybench run measures every service unless --targets says
MODELS = ("capacity", "closed", "open")
SCENARIOS = ("checkout", "browse", "refunds", "retry_storm", "mixed", "ping")
GATEWAY_PROFILES = ("instant", "fast", "realistic")
ORDERS = ("alternate", "abba", "shuffle")
# Open model: default concurrency cap = this many seconds of arrivals, so iterations that
# wait for a slow gateway (or poll a pending payment) do not exhaust the users.
OPEN_CAP_SECONDS = 5.0
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class RunConfig:
    """The effective configuration of one ``paybench run`` or ``paybench sweep``."""

    label: str = "run"
    targets: tuple[str, ...] = DEFAULT_TARGETS
    scenario: str = "checkout"
    load_model: str = "capacity"
    users: int = 20
    spawn_rate: float | None = None
    rate: float | None = None
    duration_s: float = 8.0
    warmup_s: float = 2.0
    trials: int = 5  # 5 vs 5 is the fewest that lets Mann-Whitney reach p < 0.01
    slo_factor: float = 2.0
    search_start: float = 2.0
    search_floor: float = 0.25
    search_resolution: float = 0.10
    search_warmup_s: float = 2.0
    search_duration_s: float = 8.0
    confirm_trials: int = 5
    order: str = "alternate"
    think_time_s: float = 0.0
    processes: int = 1
    workers: int = 2
    db_pool_size: int = 10
    gateway_profile: str = "fast"
    gateway_timeout_s: float = 10.0
    reconcile_interval_s: float = 0.0
    merchants: int = 4
    seed: int = 1
    database_url: str | None = None
    redis_url: str | None = None
    target_urls: tuple[tuple[str, str], ...] = ()
    api_keys: tuple[str, ...] = ()
    out: Path = Path("runs")
    slo: str | None = None
    slo_targets: tuple[str, ...] = ()
    locustfile: Path | None = None
    open_late_ms: float = 50.0
    open_drop_after_ms: float = 1000.0
    open_max_behind: float = 0.05
    stop_timeout_s: float = 2.0
    drain_s: float = 5.0
    idle_timeout_s: float = 120.0
    sweep_users: tuple[int, ...] = ()
    sweep_rates: tuple[float, ...] = ()
    sweep_profiles: tuple[str, ...] = ()
    sweep_gateway_ms: tuple[float, ...] = ()
    step_duration_s: float = 15.0
    step_warmup_s: float = 3.0
    step_trials: int = 1

    @property
    def model(self) -> str:
        """``capacity`` (a search per target), ``open`` (a fixed rate) or ``closed``."""
        return "open" if self.rate is not None else self.load_model

    @property
    def slo_p99_ms(self) -> float | None:
        """The absolute p99 objective given by ``slo`` (None: derive one)."""
        return _slo_part(self.slo, "p99")

    @property
    def slo_error_ratio(self) -> float:
        """The error-ratio objective given by ``slo`` (1% by default)."""
        value = _slo_part(self.slo, "errors")
        return 0.01 if value is None else value

    @property
    def effective_spawn_rate(self) -> float:
        """Users started per second; by default every user within the first second."""
        return self.spawn_rate if self.spawn_rate is not None else float(self.users)

    def external_url(self, target: str) -> str | None:
        """The URL of a target that paybench does not start itself, if any."""
        return dict(self.target_urls).get(target)

    def managed_targets(self) -> tuple[str, ...]:
        """Targets whose processes the stack starts and resets."""
        return tuple(t for t in self.targets if self.external_url(t) is None)


DOCS: dict[str, str] = {
    "label": "name appended to the run directory",
    "targets": "comma list of targets to measure (legacy, engine, or names given by target_urls)",
    "scenario": "load scenario: " + ", ".join(SCENARIOS),
    "load_model": "capacity (search each target's capacity at the latency objective), closed "
    "(--users concurrent users) or open (--rate iterations/s); --users and --rate imply theirs",
    "users": "closed model: concurrent users; open model: concurrency cap (by default "
    "max(20, 5 s of arrivals)); capacity search: the cap's floor (cap = max(users, 5 s of "
    "arrivals))",
    "spawn_rate": "users started per second (default: all users within one second)",
    "rate": "open model: scenario iterations started per second (unset = closed model)",
    "duration_s": "measured seconds per trial (capacity search: the probe and each "
    "confirmation trial)",
    "warmup_s": "warm-up seconds per trial, recorded but excluded from the numbers",
    "trials": "closed/open model: trials per target, interleaved across targets",
    "slo_factor": "capacity search: latency objective = this x the p99 of every target's "
    "requests at the start rate, rounded up (unless --slo gives one)",
    "search_start": "capacity search: first offered rate (iterations/s), low enough to be unloaded",
    "search_floor": "capacity search: lowest rate tried when a target fails the first one",
    "search_resolution": "capacity search: bisect until the bracket is this narrow (0.1 = 10%)",
    "search_warmup_s": "capacity search: warm-up seconds of a search step",
    "search_duration_s": "capacity search: measured seconds of a search step",
    "confirm_trials": "capacity search: confirmation trials per target at its capacity",
    "order": "trial order: alternate (A B A B), abba (A B B A), shuffle (seeded, per round)",
    "think_time_s": "closed model: pause between a user's iterations",
    "processes": "Locust processes generating load (one core each)",
    "workers": "server worker processes per target (same for every target)",
    "db_pool_size": "database connections per worker (same for every target)",
    "gateway_profile": "gateway simulator profile: " + ", ".join(GATEWAY_PROFILES),
    "gateway_timeout_s": "service-side timeout of a gateway call",
    "reconcile_interval_s": "services' background reconciler period, 0 = off",
    "merchants": "demo merchants provisioned per target (users use their keys round-robin)",
    "seed": "seed of the simulator, demo data and shuffled trial order",
    "database_url": "PostgreSQL DSN (unset: embedded PostgreSQL)",
    "redis_url": "Redis URL (unset: embedded Redis)",
    "target_urls": "already running targets, name=URL comma list (not started or reset)",
    "api_keys": "merchant API keys for targets given by target_urls (comma list)",
    "out": "directory under which run directories are created",
    "slo": "latency objective and SLO gates, e.g. p99<500ms,errors<1%: the capacity search "
    "uses it instead of a derived one; a tripped gate exits 1",
    "slo_targets": "targets the SLO gates apply to (default: the candidates, every target "
    "but the baseline)",
    "locustfile": "custom locustfile replacing the built-in scenario",
    "open_late_ms": "open model: a start later than this after its intended time is late",
    "open_drop_after_ms": "open model: a start further behind than this is dropped",
    "open_max_behind": "open model: share of starts the generator made late or dropped (while "
    "a user was free) above which a trial is invalid",
    "stop_timeout_s": "custom locustfile: seconds its users may finish after a trial's end",
    "drain_s": "seconds iterations still running at the window's end are awaited (they count "
    "in latency; those still running after that are timed out)",
    "idle_timeout_s": "seconds to wait before a trial for targets to finish queued requests "
    "(answer /ping quickly); a trial that starts on a busy target is invalid",
    "sweep_users": "sweep: comma list of user counts (closed model stairs)",
    "sweep_rates": "sweep: comma list of arrival rates (open model stairs)",
    "sweep_profiles": "sweep: comma list of gateway profiles (a capacity search at each, or "
    "crossed with the stairs)",
    "sweep_gateway_ms": "sweep: comma list of gateway auth-call medians in ms, p99 = 4x median "
    "(a capacity search at each, or crossed with the stairs)",
    "step_duration_s": "sweep of fixed load (stairs, or --users/--rate at each gateway "
    "setting): measured seconds per step",
    "step_warmup_s": "sweep of fixed load: warm-up seconds per step",
    "step_trials": "sweep of fixed load: trials per target at each step (stairs are long; "
    "1 by default)",
}

QUICK: dict[str, Any] = {
    "label": "quick",
    "duration_s": 4.0,
    "warmup_s": 1.0,
    "trials": 1,
    "step_duration_s": 6.0,
    "step_warmup_s": 2.0,
    "search_start": 4.0,
    "search_resolution": 0.5,
    "search_warmup_s": 1.0,
    "search_duration_s": 3.0,
    "confirm_trials": 1,
}
QUICK_DOC = (
    f"coarser and shorter: search steps of {QUICK['search_warmup_s']:g} s warm-up + "
    f"{QUICK['search_duration_s']:g} s from {QUICK['search_start']:g} iterations/s to within "
    f"{QUICK['search_resolution']:.0%}, {QUICK['confirm_trials']} confirmation trial of "
    f"{QUICK['warmup_s']:g} + {QUICK['duration_s']:g} s (so no 95% interval); "
    f"{QUICK['trials']} trial per target in the closed or open model; sweep steps of "
    f"{QUICK['step_warmup_s']:g} + {QUICK['step_duration_s']:g} s"
)


# -- value parsers: each accepts a native TOML value or a string from env/CLI ----------------


def _str(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _opt_str(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _str(value)


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        result = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _opt_float(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _float(value)


def _list(value: object) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError(f"expected a list or comma-separated string, got {value!r}")


def _names(value: object) -> tuple[str, ...]:
    items = _list(value)
    for item in items:
        if not _NAME.match(item):
            raise ValueError(f"bad name {item!r}")
    return tuple(items)


def _ints(value: object) -> tuple[int, ...]:
    return tuple(_int(v) for v in _list(value))


def _floats(value: object) -> tuple[float, ...]:
    return tuple(_float(v) for v in _list(value))


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    items = (
        [f"{k}={v}" for k, v in value.items()] if isinstance(value, Mapping) else _list(value)
    )
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not _NAME.match(name.strip()):
            raise ValueError(f"expected name=URL, got {item!r}")
        url = url.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"expected an http(s) URL for {name.strip()!r}, got {url!r}")
        pairs.append((name.strip(), url))
    return tuple(pairs)


def _path(value: object) -> Path:
    return Path(_str(value)).expanduser()


def _opt_path(value: object) -> Path | None:
    text = _opt_str(value)
    return None if text is None else Path(text).expanduser()


PARSERS: dict[str, Callable[[object], Any]] = {
    "label": _str,
    "targets": _names,
    "scenario": _str,
    "load_model": _str,
    "users": _int,
    "spawn_rate": _opt_float,
    "rate": _opt_float,
    "duration_s": _float,
    "warmup_s": _float,
    "trials": _int,
    "slo_factor": _float,
    "search_start": _float,
    "search_floor": _float,
    "search_resolution": _float,
    "search_warmup_s": _float,
    "search_duration_s": _float,
    "confirm_trials": _int,
    "order": _str,
    "think_time_s": _float,
    "processes": _int,
    "workers": _int,
    "db_pool_size": _int,
    "gateway_profile": _str,
    "gateway_timeout_s": _float,
    "reconcile_interval_s": _float,
    "merchants": _int,
    "seed": _int,
    "database_url": _opt_str,
    "redis_url": _opt_str,
    "target_urls": _pairs,
    "api_keys": _names,
    "out": _path,
    "slo": _opt_str,
    "slo_targets": _names,
    "locustfile": _opt_path,
    "open_late_ms": _float,
    "open_drop_after_ms": _float,
    "open_max_behind": _float,
    "stop_timeout_s": _float,
    "drain_s": _float,
    "idle_timeout_s": _float,
    "sweep_users": _ints,
    "sweep_rates": _floats,
    "sweep_profiles": _names,
    "sweep_gateway_ms": _floats,
    "step_duration_s": _float,
    "step_warmup_s": _float,
    "step_trials": _int,
}
KNOBS = tuple(f.name for f in fields(RunConfig))
assert set(KNOBS) == set(PARSERS) == set(DOCS), "every knob needs a parser and a doc line"


def env_name(knob: str) -> str:
    """The environment variable that sets ``knob``."""
    return "PAYBENCH_" + knob.upper()


# PAYBENCH_* variables that are no knob but are read elsewhere: the test suite's servers,
# the analysis notebook, the locustfile harness and its remote parts, the services, and
# the scenario files when Locust runs them by hand.
OTHER_ENV = frozenset({
    "PAYBENCH_TEST_DATABASE_URL", "PAYBENCH_TEST_REDIS_URL", "PAYBENCH_RUN_DIR",
    "PAYBENCH_PARTS_DIR", "PAYBENCH_MODEL", "PAYBENCH_ABORT_P99_MS",
    "PAYBENCH_ABORT_ERROR_RATIO", "PAYBENCH_DB_SCHEMA", "PAYBENCH_REDIS_PREFIX",
    "PAYBENCH_GATEWAY_URL", "PAYBENCH_CACHE_TTL_S", "PAYBENCH_CURRENCIES",
    "PAYBENCH_RECONCILE_MIN_AGE_S", "PAYBENCH_POLL_INTERVAL_S", "PAYBENCH_POLL_MAX",
    "PAYBENCH_RETRY_CONCURRENCY", "PAYBENCH_BROWSE_POOL", "PAYBENCH_SERVER_TIMING",
})


def env_warnings(env: Mapping[str, str]) -> list[str]:
    """A warning for each ``PAYBENCH_*`` variable that nothing reads, with the closest name."""
    known = sorted({env_name(k) for k in KNOBS} | OTHER_ENV)
    prefix = len("PAYBENCH_")  # shared by all: compared, it would make any two names close
    out: list[str] = []
    for name in sorted(env):
        if not name.startswith("PAYBENCH_") or name in known:
            continue
        close = difflib.get_close_matches(name[prefix:], [k[prefix:] for k in known], n=1,
                                          cutoff=0.6)
        hint = (f"; did you mean PAYBENCH_{close[0]}?" if close
                else " (`paybench run --help` lists the settings)")
        out.append(f"{name} is not a paybench setting and is ignored{hint}")
    return out


def read_config_file(cwd: Path) -> tuple[dict[str, Any], str | None]:
    """Knob values from ``paybench.toml`` or ``pyproject.toml`` ``[tool.paybench]`` in ``cwd``."""
    own = cwd / "paybench.toml"
    try:
        if own.is_file():
            with own.open("rb") as fh:
                return tomllib.load(fh), str(own)
        pyproject = cwd / "pyproject.toml"
        if pyproject.is_file():
            with pyproject.open("rb") as fh:
                table = tomllib.load(fh).get("tool", {}).get("paybench")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError("[tool.paybench] must be a table", source=str(pyproject))
                return table, f"{pyproject} [tool.paybench]"
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=str(own)) from None
    return {}, None


def setting_sources(env: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    """The settings a run takes from ``PAYBENCH_*`` variables and from the config file, as
    config.json records them so that the run can be reproduced (URLs' passwords redacted)."""
    file_values, file_source = read_config_file(cwd)
    env_values = {env_name(k): env[env_name(k)] for k in KNOBS if env_name(k) in env}
    for knob in ("database_url", "redis_url"):
        if env_name(knob) in env_values:
            env_values[env_name(knob)] = redact(env_values[env_name(knob)]) or ""
        if isinstance(file_values.get(knob), str):
            file_values = {**file_values, knob: redact(file_values[knob])}
    return {"env": env_values,
            "file": {"path": file_source, "values": file_values} if file_source else None}


def _apply(values: dict[str, Any], raw: Mapping[str, object], source: str,
           origins: list[tuple[str, str, Any]]) -> None:
    for key, value in raw.items():
        if key not in PARSERS:
            raise ConfigError(f"unknown setting {key!r}", source=source)
        try:
            values[key] = PARSERS[key](value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}", source=source) from None
        origins.append((source, key, values[key]))


def resolve(
    cli: Mapping[str, object],
    *,
    env: Mapping[str, str],
    cwd: Path,
    quick: bool = False,
) -> RunConfig:
    """Merge defaults, config file, environment, ``--quick`` and CLI flags, then validate.

    ``cli`` holds only the flags the user gave (``None`` values are ignored). Every value
    of every source is checked, also one that a later source overrides.
    """
    from loadtests.checks import check_value, validate

    values: dict[str, Any] = {}
    origins: list[tuple[str, str, Any]] = []
    file_values, file_source = read_config_file(cwd)
    if file_source is not None:
        _apply(values, file_values, file_source, origins)
    env_values = {k: env[env_name(k)] for k in KNOBS if env_name(k) in env}
    for knob, text in env_values.items():
        _apply(values, {knob: text}, env_name(knob), origins)
    if quick:
        _apply(values, QUICK, "--quick", origins)
    _apply(values, {k: v for k, v in cli.items() if v is not None}, "command line", origins)
    explicit = {k for k, v in cli.items() if v is not None} | set(env_values) | set(file_values)
    if values.get("rate") is not None and "users" not in explicit:
        values["users"] = open_cap(float(values["rate"]))
    if "load_model" not in explicit:
        # --users alone asks for the closed model, --rate for the open one
        if values.get("rate") is not None:
            values["load_model"] = "open"
        elif "users" in explicit:
            values["load_model"] = "closed"
    config = RunConfig(**values)
    for source, knob, value in origins:
        check_value(knob, value, config, source)
    validate(config)
    return config


def open_cap(rate: float, floor: int = 20) -> int:
    """Default open-model concurrency cap for ``rate`` iterations per second."""
    return max(floor, math.ceil(rate * OPEN_CAP_SECONDS))


def parse_slo(spec: str) -> list[Any]:
    """SLO gates of ``p99<500ms,errors<1%`` (the report's own parser); ValueError when bad."""
    from reports.gates import parse_slo as parse_gates

    return parse_gates(spec)


def _slo_part(spec: str | None, metric: str) -> float | None:
    """The limit of ``metric`` (``p99`` in ms, ``errors`` as a ratio) in an SLO spec."""
    if not spec:
        return None
    from reports.gates import slo_limits

    p99, errors = slo_limits(parse_slo(spec))
    return p99 if metric == "p99" else errors


def redact(url: str | None) -> str | None:
    """A URL with its password replaced by ``***``."""
    if url is None:
        return None
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def as_json(config: RunConfig) -> dict[str, Any]:
    """Every knob as JSON-friendly values (passwords redacted)."""
    out: dict[str, Any] = {}
    for knob in KNOBS:
        value = getattr(config, knob)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[knob] = value
    out["database_url"] = redact(config.database_url)
    out["redis_url"] = redact(config.redis_url)
    out["model"] = config.model
    return out
