"""Run configuration: every knob, its default, and how sources override each other.

Each knob is declared once, as a field of :class:`RunConfig` (name, type, default, flag,
commands, help, check, whether the Locust child reads it: see :mod:`loadtests.knobs`);
the parsers, the docs, the flags (:mod:`loadtests.options`), the child's environment and
what the child reads back (:func:`child_config`) are derived from the fields.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import checks
from loadtests.checks import (
    GATEWAY_PROFILES,
    MODELS,
    ORDERS,
    SCENARIOS,
    SERVICE_TARGETS,
    slo_limits,
)
from loadtests.errors import ConfigError
from loadtests.knobs import (
    ALL,
    LOAD,
    RUN,
    SWEEP,
    Knob,
    at_least_one,
    declared,
    each,
    env_name,
    knob,
    not_negative,
    one_of,
    positive,
    rule,
    to_env,
    unless_none,
)

DEFAULT_TARGETS = SERVICE_TARGETS  # paybench run measures every service unless --targets says
# Open model: default concurrency cap = this many seconds of arrivals, so iterations that
# wait for a slow gateway (or poll a pending payment) do not exhaust the users.
OPEN_CAP_SECONDS = 5.0
POLLING = ("checkout", "refunds", "mixed")  # the scenarios that poll a pending payment


@dataclass(frozen=True)
class RunConfig:
    """The effective configuration of one ``paybench run`` or ``paybench sweep``.

    Each field declares a knob: ``knob(default, flag, commands, help, ...)``. The order
    of the fields is the order of ``--help`` and of the README table.
    """

    # -- the stack: every command that starts one -------------------------------------------
    label: str = knob("run", "--label", ALL, "name appended to the run directory")
    targets: tuple[str, ...] = knob(
        DEFAULT_TARGETS, "--targets", ALL,
        "comma list of targets to measure (legacy, engine, or names given by target_urls)",
        check=checks.targets)
    workers: int = knob(2, "--workers", ALL,
                        "server worker processes per target (same for every target)",
                        check=at_least_one)
    db_pool_size: int = knob(10, "--db-pool-size", ALL,
                             "database connections per worker (same for every target)",
                             check=at_least_one)
    gateway_profile: str = knob("fast", "--gateway-profile", ALL,
                                "gateway simulator profile: " + ", ".join(GATEWAY_PROFILES),
                                check=one_of(GATEWAY_PROFILES))
    gateway_timeout_s: float = knob(10.0, "--gateway-timeout", ALL,
                                    "service-side timeout of a gateway call", check=positive)
    reconcile_interval_s: float = knob(0.0, "--reconcile-interval", ALL,
                                       "services' background reconciler period, 0 = off",
                                       check=not_negative)
    merchants: int = knob(
        4, "--merchants", ALL,
        "demo merchants provisioned per target (users use their keys round-robin)",
        check=at_least_one)
    seed: int = knob(1, "--seed", ALL,
                     "seed of the simulator, demo data and shuffled trial order", child=True)
    database_url: str | None = knob(None, "--database-url", ALL,
                                    "PostgreSQL DSN (unset: embedded PostgreSQL)",
                                    check=checks.url_of("postgres"))
    redis_url: str | None = knob(None, "--redis-url", ALL, "Redis URL (unset: embedded Redis)",
                                 check=checks.url_of("redis"))
    target_urls: tuple[tuple[str, str], ...] = knob(
        (), "--target-url", ALL,
        "already running targets, name=URL comma list (not started or reset)",
        metavar="NAME=URL", repeatable=True,
        flag_help="an already running target (repeatable; {help})")
    # The child gets the keys of its trial's target (a started target's own merchants).
    api_keys: tuple[str, ...] = knob(
        (), "--api-keys", ALL,
        "merchant API keys for targets given by target_urls (comma list)", child=True)
    out: Path = knob(Path("runs"), "--out", ALL,
                     "directory under which run directories are created")
    # -- the load ---------------------------------------------------------------------------
    scenario: str = knob("checkout", "--scenario", LOAD,
                         "load scenario: " + ", ".join(SCENARIOS), check=checks.scenario)
    locustfile: Path | None = knob(None, "--locustfile", LOAD,
                                   "custom locustfile replacing the built-in scenario",
                                   check=checks.locustfile)
    load_model: str = knob(
        "capacity", "--model", LOAD,
        "capacity (search each target's capacity at the latency objective), closed "
        "(--users concurrent users) or open (--rate iterations/s); --users and --rate imply "
        "theirs", check=one_of(MODELS))
    users: int = knob(
        20, "--users", LOAD,
        "closed model: concurrent users; open model: concurrency cap (by default "
        "max(20, 5 s of arrivals)); capacity search: the cap's floor (cap = max(users, 5 s "
        "of arrivals))", check=at_least_one)
    spawn_rate: float | None = knob(
        None, "--spawn-rate", LOAD,
        "users started per second (default: all users within one second)",
        check=unless_none(positive))
    rate: float | None = knob(
        None, "--rate", LOAD,
        "open model: scenario iterations started per second (unset = closed model)",
        check=unless_none(positive))
    duration_s: float = knob(8.0, "--duration", LOAD,
                             "measured seconds per trial (capacity search: the probe and each "
                             "confirmation trial)", check=positive)
    warmup_s: float = knob(2.0, "--warmup", LOAD,
                           "warm-up seconds per trial, recorded but excluded from the numbers",
                           check=not_negative)
    drain_s: float = knob(
        5.0, "--drain", LOAD,
        "seconds iterations still running at the window's end are awaited (they count in "
        "latency; those still running after that are timed out)", check=positive)
    # 5 vs 5 is the fewest that lets Mann-Whitney reach p < 0.01
    trials: int = knob(5, "--trials", frozenset({RUN}),
                       "closed/open model: trials per target, interleaved across targets",
                       check=at_least_one)
    order: str = knob(
        "alternate", "--order", LOAD,
        "trial order: alternate (A B A B), abba (A B B A), shuffle (seeded, per round)",
        check=one_of(ORDERS))
    think_time_s: float = knob(0.0, "--think-time", LOAD,
                               "closed model: pause between a user's iterations",
                               check=not_negative, child=True)
    poll_interval_s: float = knob(
        0.2, "--poll-interval", LOAD,
        "seconds between reads of a payment still processing at the gateway (or of "
        "refunds not yet settled)", check=positive, child=True, scenarios=POLLING)
    poll_max: int = knob(
        25, "--poll-max", LOAD,
        "reads of a payment still processing (or of refunds not yet settled) before an "
        "iteration stops waiting", check=not_negative, child=True, scenarios=POLLING)
    retry_concurrency: int = knob(
        4, "--retry-concurrency", LOAD,
        "retry storm: identical requests sent at once with one Idempotency-Key",
        check=at_least_one, child=True, scenarios=("retry_storm", "mixed"))
    browse_pool: int = knob(5, "--browse-pool", LOAD,
                            "browse: payments each user creates at start, then reads",
                            check=at_least_one, child=True, scenarios=("browse",))
    processes: int = knob(1, "--processes", LOAD,
                          "Locust processes generating load (one core each)",
                          check=at_least_one, child=True)
    idle_timeout_s: float = knob(
        120.0, "--idle-timeout", LOAD,
        "seconds to wait before a trial for targets to finish queued requests (answer /ping "
        "quickly); a trial that starts on a busy target is invalid", check=positive)
    stop_timeout_s: float = knob(
        2.0, "--stop-timeout", LOAD,
        "custom locustfile: seconds its users may finish after a trial's end",
        check=not_negative)
    open_late_ms: float = knob(
        50.0, "--open-late-ms", LOAD,
        "open model: a start later than this after its intended time is late",
        check=positive, child=True)
    open_drop_after_ms: float = knob(
        1000.0, "--open-drop-after-ms", LOAD,
        "open model: a start further behind than this is dropped", check=positive,
        child=True)
    open_max_behind: float = knob(
        0.05, "--open-max-behind", LOAD,
        "open model: share of starts the generator made late or dropped (while a user was "
        "free) above which a trial is invalid",
        check=rule(lambda v: 0 <= v <= 1, "must be within 0..1"))
    slo: str | None = knob(
        None, "--slo", LOAD,
        "latency objective and SLO gates, e.g. p99<500ms,errors<1%: the capacity search "
        "uses it instead of a derived one; a tripped gate exits 1", check=checks.slo)
    slo_targets: tuple[str, ...] = knob(
        (), "--slo-targets", LOAD,
        "targets the SLO gates apply to (default: the candidates, every target but the "
        "baseline)")
    # -- the capacity search ----------------------------------------------------------------
    slo_factor: float = knob(
        2.0, "--slo-factor", LOAD,
        "capacity search: latency objective = this x the p99 of every target's requests at "
        "the start rate, rounded up (unless --slo gives one)",
        check=rule(lambda v: v > 1, "must be > 1"))
    search_start: float = knob(
        2.0, "--search-start", LOAD,
        "capacity search: first offered rate (iterations/s), low enough to be unloaded",
        check=positive)
    search_floor: float = knob(
        0.25, "--search-floor", LOAD,
        "capacity search: lowest rate tried when a target fails the first one", check=positive)
    search_resolution: float = knob(
        0.10, "--search-resolution", LOAD,
        "capacity search: bisect until the bracket is this narrow (0.1 = 10%)",
        check=rule(lambda v: 0 < v < 1, "must be within 0..1"))
    search_warmup_s: float = knob(2.0, "--search-warmup", LOAD,
                                  "capacity search: warm-up seconds of a search step",
                                  check=not_negative)
    search_duration_s: float = knob(8.0, "--search-duration", LOAD,
                                    "capacity search: measured seconds of a search step",
                                    check=positive)
    confirm_trials: int = knob(
        5, "--confirm-trials", LOAD,
        "capacity search: confirmation trials per target at its capacity", check=at_least_one)
    # -- sweeps -----------------------------------------------------------------------------
    sweep_users: tuple[int, ...] = knob(
        (), "--sweep-users", frozenset({SWEEP}),
        "sweep: comma list of user counts (closed model stairs)",
        check=each(lambda u: u >= 1, "must be >= 1"))
    sweep_rates: tuple[float, ...] = knob(
        (), "--sweep-rates", frozenset({SWEEP}),
        "sweep: comma list of arrival rates (open model stairs)",
        check=each(lambda r: r > 0, "must be > 0"))
    sweep_profiles: tuple[str, ...] = knob(
        (), "--sweep-profiles", frozenset({SWEEP}),
        "sweep: comma list of gateway profiles (a capacity search at each, or crossed with "
        "the stairs)",
        check=each(lambda p: p in GATEWAY_PROFILES,
                   f"must be among {', '.join(GATEWAY_PROFILES)}"))
    sweep_gateway_ms: tuple[float, ...] = knob(
        (), "--sweep-gateway-ms", frozenset({SWEEP}),
        "sweep: comma list of gateway auth-call medians in ms, p99 = 4x median (a capacity "
        "search at each, or crossed with the stairs)",
        check=each(lambda g: g >= 0, "must be >= 0"))
    step_duration_s: float = knob(
        15.0, "--step-duration", frozenset({SWEEP}),
        "sweep of fixed load (stairs, or --users/--rate at each gateway setting): measured "
        "seconds per step", check=positive)
    step_warmup_s: float = knob(3.0, "--step-warmup", frozenset({SWEEP}),
                                "sweep of fixed load: warm-up seconds per step",
                                check=not_negative)
    step_trials: int = knob(
        1, "--step-trials", frozenset({SWEEP}),
        "sweep of fixed load: trials per target at each step (stairs are long; 1 by default)",
        check=at_least_one)

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


SETTINGS: dict[str, Knob] = declared(RunConfig)
KNOBS = tuple(SETTINGS)
CHILD_KNOBS = tuple(name for name, k in SETTINGS.items() if k.child)

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


# PAYBENCH_* variables that are no knob but are read elsewhere: the test suite's servers,
# the analysis notebook, the locustfile harness and its remote parts, and the services.
OTHER_ENV = frozenset({
    "PAYBENCH_TEST_DATABASE_URL", "PAYBENCH_TEST_REDIS_URL", "PAYBENCH_RUN_DIR",
    "PAYBENCH_PARTS_DIR", "PAYBENCH_MODEL", "PAYBENCH_ABORT_P99_MS",
    "PAYBENCH_ABORT_ERROR_RATIO", "PAYBENCH_DB_SCHEMA", "PAYBENCH_REDIS_PREFIX",
    "PAYBENCH_GATEWAY_URL", "PAYBENCH_CACHE_TTL_S", "PAYBENCH_CURRENCIES",
    "PAYBENCH_RECONCILE_MIN_AGE_S", "PAYBENCH_SERVER_TIMING",
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
    for name in ("database_url", "redis_url"):
        if env_name(name) in env_values:
            env_values[env_name(name)] = redact(env_values[env_name(name)]) or ""
        if isinstance(file_values.get(name), str):
            file_values = {**file_values, name: redact(file_values[name])}
    return {"env": env_values,
            "file": {"path": file_source, "values": file_values} if file_source else None}


def _parse(name: str, value: object, source: str) -> Any:
    if name not in SETTINGS:
        raise ConfigError(f"unknown setting {name!r}", source=source)
    try:
        return SETTINGS[name].parse(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}", source=source) from None


def _check(name: str, value: Any, config: RunConfig, source: str | None) -> None:
    """Raise :class:`ConfigError` naming ``source`` when ``value`` is bad for knob ``name``."""
    check = SETTINGS[name].check
    problem = check(name, value, config) if check is not None else None
    if problem is not None:
        raise ConfigError(problem, source=source)


def _apply(values: dict[str, Any], raw: Mapping[str, object], source: str,
           origins: list[tuple[str, str, Any]]) -> None:
    for key, value in raw.items():
        values[key] = _parse(key, value, source)
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
    values: dict[str, Any] = {}
    origins: list[tuple[str, str, Any]] = []
    file_values, file_source = read_config_file(cwd)
    if file_source is not None:
        _apply(values, file_values, file_source, origins)
    env_values = {k: env[env_name(k)] for k in KNOBS if env_name(k) in env}
    for name, text in env_values.items():
        _apply(values, {name: text}, env_name(name), origins)
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
    for source, name, value in origins:
        _check(name, value, config, source)
    for name in KNOBS:
        _check(name, getattr(config, name), config, None)
    checks.validate(config)
    return config


def child_variables(config: RunConfig) -> dict[str, str]:
    """The ``PAYBENCH_*`` variables that give a Locust child the knobs it reads."""
    return {env_name(name): to_env(getattr(config, name)) for name in CHILD_KNOBS}


def child_config(env: Mapping[str, str]) -> RunConfig:
    """The settings a Locust child reads: each knob declared ``child`` from its
    ``PAYBENCH_*`` variable (parsed and checked as the CLI does; unset or empty: its
    default); every other knob at its default."""
    values = {name: _parse(name, env[env_name(name)], env_name(name)) for name in CHILD_KNOBS
              if env.get(env_name(name), "").strip()}
    config = RunConfig(**values)
    for name, value in values.items():
        _check(name, value, config, env_name(name))
    return config


def open_cap(rate: float, floor: int = 20) -> int:
    """Default open-model concurrency cap for ``rate`` iterations per second."""
    return max(floor, math.ceil(rate * OPEN_CAP_SECONDS))


def _slo_part(spec: str | None, metric: str) -> float | None:
    """The limit of ``metric`` (``p99`` in ms, ``errors`` as a ratio) in an SLO spec."""
    if not spec:
        return None
    p99, errors = slo_limits(spec)
    return p99 if metric == "p99" else errors


def redact(url: str | None) -> str | None:
    """A URL with its password replaced by ``***``."""
    if url is None:
        return None
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def as_json(config: RunConfig) -> dict[str, Any]:
    """Every knob as JSON-friendly values (passwords redacted)."""
    out: dict[str, Any] = {}
    for name in KNOBS:
        value = getattr(config, name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[name] = value
    out["database_url"] = redact(config.database_url)
    out["redis_url"] = redact(config.redis_url)
    out["model"] = config.model
    return out
