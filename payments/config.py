"""Service settings, resolved once from the environment at the edge.

Both services build one frozen ``ServiceSettings`` at start-up with
``ServiceSettings.from_env`` and pass it down; nothing deeper reads
``os.environ``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from payments import errors
from payments.money import CURRENCY_EXPONENTS, DEFAULT_CURRENCIES

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(errors.ConfigError, ValueError):
    """A service setting is missing or malformed; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {env[name]!r}")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    database_url: str
    redis_url: str
    gateway_url: str
    db_schema: str = "public"
    db_pool_size: int = 10
    redis_prefix: str = "public:"
    gateway_timeout_s: float = 10.0
    cache_ttl_s: int = 300
    currencies: frozenset[str] = field(default_factory=lambda: DEFAULT_CURRENCIES)
    reconcile_interval_s: float = 0.0
    # how long an unsettled attempt waits before the reconciler asks the gateway
    reconcile_min_age_s: float = 5.0
    # answer every request with a Server-Timing header (db, cache, gateway, app, total)
    server_timing: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServiceSettings:
        schema = env.get("PAYBENCH_DB_SCHEMA", "public") or "public"
        if not _SCHEMA_RE.match(schema):
            raise ConfigError(f"PAYBENCH_DB_SCHEMA must be a lower-case identifier, got {schema!r}")
        currencies = frozenset(
            c.strip().upper()
            for c in env.get("PAYBENCH_CURRENCIES", ",".join(sorted(DEFAULT_CURRENCIES))).split(",")
            if c.strip()
        )
        unknown = sorted(currencies - set(CURRENCY_EXPONENTS))
        if unknown or not currencies:
            raise ConfigError(f"PAYBENCH_CURRENCIES has unknown currencies: {unknown}")
        return cls(
            database_url=_required(env, "PAYBENCH_DATABASE_URL"),
            redis_url=_required(env, "PAYBENCH_REDIS_URL"),
            gateway_url=_required(env, "PAYBENCH_GATEWAY_URL").rstrip("/"),
            db_schema=schema,
            db_pool_size=_int(env, "PAYBENCH_DB_POOL_SIZE", 10, minimum=1),
            redis_prefix=env.get("PAYBENCH_REDIS_PREFIX") or f"{schema}:",
            gateway_timeout_s=_float(env, "PAYBENCH_GATEWAY_TIMEOUT_S", 10.0, minimum=0.001),
            cache_ttl_s=_int(env, "PAYBENCH_CACHE_TTL_S", 300, minimum=1),
            currencies=currencies,
            reconcile_interval_s=_float(env, "PAYBENCH_RECONCILE_INTERVAL_S", 0.0),
            reconcile_min_age_s=_float(env, "PAYBENCH_RECONCILE_MIN_AGE_S", 5.0),
            server_timing=_bool(env, "PAYBENCH_SERVER_TIMING", True),
        )
