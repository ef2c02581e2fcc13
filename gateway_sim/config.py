"""Simulator profiles: latency, fault rates, webhook behaviour.

A profile is a frozen value. Named profiles (``instant``, ``fast``,
``realistic``) are starting points; a JSON config file or ``PUT
/__admin__/profile`` applies overrides on top, e.g.::

    {"profile": "fast",
     "latency": {"auth": {"p50_ms": 20, "p99_ms": 90}},
     "faults": {"decline": 0.1, "server_error": 0.0},
     "stall_s": 12, "settle_delay_s": 1.5,
     "webhook": {"duplicate_rate": 0.2, "max_attempts": 3}}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_sim.errors import ConfigError

ENDPOINT_KINDS = ("auth", "status", "refund")

# How a Juspay card ``POST /txns`` is answered (``juspay_card_auth``):
#   three_ds  as documented: PENDING_VBV with an authentication URL; the card is
#             charged (or declined) when the simulated authentication completes;
#   direct    charged or declined in the /txns reply itself (paybench's old behaviour);
#   auto      three_ds for a call without the merchant's API key (the client-side call
#             Juspay documents), direct for a server-to-server call that authenticates
#             with it, as paybench's engine and legacy service do (Juspay charges
#             authenticated direct-debit /txns calls at once too).
CARD_AUTH_MODES = ("auto", "three_ds", "direct")


@dataclass(frozen=True, slots=True)
class LatencySpec:
    """Log-normal latency given by its median and 99th percentile (milliseconds)."""

    p50_ms: float = 0.0
    p99_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probabilities per call (charges: per order). All zero in ``instant``."""

    decline: float = 0.0  # card declined with the gateway's own code
    server_error: float = 0.0  # 5xx; on a transaction the attempt is recorded failed
    rate_limit: float = 0.0  # 429 before anything is created
    reset: float = 0.0  # connection reset after the charge was made
    ambiguous_timeout: float = 0.0  # charge made, reply stalled past the caller's timeout
    pending: float = 0.0  # UPI/netbanking: pending first, settled by webhook
    pending_failure: float = 0.0  # share of pending attempts that settle as failed
    stall: float = 0.0  # any call: stall for ``stall_s`` (beyond the caller's timeout)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    enabled: bool = True
    # Only notify outcomes the caller could not read from the reply (pending
    # settlements, refunds, 5xx/timeouts/resets): halves webhook traffic in
    # load tests while keeping every path that needs a webhook.
    only_async: bool = False
    delay_s: float = 0.0  # from the state change to the first delivery
    duplicate_rate: float = 0.0  # deliver the same event twice
    out_of_order_rate: float = 0.0  # send a stale "pending" event after the final one
    max_attempts: int = 5  # deliveries per event until a 200 (bounded retries)
    backoff_s: float = 0.5  # first retry delay, doubled each time
    timeout_s: float = 5.0  # per delivery


@dataclass(frozen=True, slots=True)
class Profile:
    name: str = "instant"
    latency: Mapping[str, LatencySpec] = field(
        default_factory=lambda: {k: LatencySpec() for k in ENDPOINT_KINDS}
    )
    faults: FaultRates = field(default_factory=FaultRates)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    stall_s: float = 12.0  # longer than services' default 10 s gateway timeout
    settle_delay_s: float = 0.3  # pending charge -> final
    refund_settle_s: float = 0.3  # pending refund -> final
    hooks: bool = True  # amount-pattern hooks (README) force outcomes
    juspay_card_auth: str = "auto"  # one of CARD_AUTH_MODES

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latency": {k: dataclasses.asdict(v) for k, v in self.latency.items()},
            "faults": dataclasses.asdict(self.faults),
            "webhook": dataclasses.asdict(self.webhook),
            "stall_s": self.stall_s,
            "settle_delay_s": self.settle_delay_s,
            "refund_settle_s": self.refund_settle_s,
            "hooks": self.hooks,
            "juspay_card_auth": self.juspay_card_auth,
        }


_STANDARD_FAULTS = FaultRates(
    decline=0.06,
    server_error=0.01,
    rate_limit=0.005,
    reset=0.003,
    ambiguous_timeout=0.002,
    pending=0.5,
    pending_failure=0.1,
    stall=0.0,
)

PROFILES: dict[str, Profile] = {
    "instant": Profile(),
    "fast": Profile(
        name="fast",
        latency={
            "auth": LatencySpec(50, 200),
            "status": LatencySpec(20, 80),
            "refund": LatencySpec(50, 200),
        },
        faults=_STANDARD_FAULTS,
        webhook=WebhookSettings(duplicate_rate=0.05, out_of_order_rate=0.02, delay_s=0.1),
        settle_delay_s=1.0,
        refund_settle_s=1.0,
    ),
    "realistic": Profile(
        name="realistic",
        latency={
            "auth": LatencySpec(400, 3000),
            "status": LatencySpec(80, 400),
            "refund": LatencySpec(300, 1500),
        },
        faults=dataclasses.replace(_STANDARD_FAULTS, stall=0.001),
        webhook=WebhookSettings(duplicate_rate=0.1, out_of_order_rate=0.05, delay_s=1.0),
        settle_delay_s=3.0,
        refund_settle_s=5.0,
    ),
}


def _number(value: Any, name: str, *, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number")
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{name} out of range")
    return float(value)


def _replace_numbers(obj: Any, overrides: Mapping[str, Any], prefix: str, *, rates: bool) -> Any:
    changes: dict[str, Any] = {}
    names = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in overrides.items():
        if key not in names:
            raise ConfigError(f"unknown setting {prefix}{key}")
        # the declared type decides, not the current value (LatencySpec(50, 200) holds ints)
        declared = str(names[key].type)
        if declared == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{prefix}{key} must be true or false")
            changes[key] = value
        elif declared == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{prefix}{key} must be a whole number")
            changes[key] = int(_number(value, prefix + key, low=1))
        else:
            high = 1.0 if rates or key.endswith("_rate") else None
            changes[key] = _number(value, prefix + key, high=high)
    return dataclasses.replace(obj, **changes)


def apply_overrides(base: Profile, overrides: Mapping[str, Any]) -> Profile:
    """A new profile: ``overrides["profile"]`` (a name) first, then the rest."""
    if not isinstance(overrides, Mapping):
        raise ConfigError("profile overrides must be a JSON object")
    inner = overrides.get("profile")
    if isinstance(inner, Mapping):
        # the document GET /__admin__/profile returns ({"profile": {...}, "available": [...]})
        return apply_overrides(base, inner)
    profile = base
    name = overrides.get("profile", overrides.get("name"))
    if name is not None:
        if not isinstance(name, str) or name not in PROFILES:
            raise ConfigError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}")
        profile = PROFILES[name]
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in ("profile", "name"):
            continue
        if key == "latency":
            if not isinstance(value, Mapping):
                raise ConfigError("latency must be an object")
            latency = dict(profile.latency)
            for kind, spec in value.items():
                if kind not in ENDPOINT_KINDS or not isinstance(spec, Mapping):
                    raise ConfigError(f"latency.{kind}: unknown kind or not an object")
                new = _replace_numbers(latency[kind], spec, f"latency.{kind}.", rates=False)
                if new.p99_ms < new.p50_ms:
                    raise ConfigError(f"latency.{kind}: p99_ms must be >= p50_ms")
                latency[kind] = new
            changes["latency"] = latency
        elif key == "faults":
            if not isinstance(value, Mapping):
                raise ConfigError("faults must be an object")
            changes["faults"] = _replace_numbers(profile.faults, value, "faults.", rates=True)
        elif key == "webhook":
            if not isinstance(value, Mapping):
                raise ConfigError("webhook must be an object")
            changes["webhook"] = _replace_numbers(profile.webhook, value, "webhook.", rates=False)
        elif key in ("stall_s", "settle_delay_s", "refund_settle_s"):
            changes[key] = _number(value, key)
        elif key == "hooks":
            if not isinstance(value, bool):
                raise ConfigError("hooks must be true or false")
            changes[key] = value
        elif key == "juspay_card_auth":
            if value not in CARD_AUTH_MODES:
                raise ConfigError(f"juspay_card_auth must be one of {', '.join(CARD_AUTH_MODES)}")
            changes[key] = value
        else:
            raise ConfigError(f"unknown setting {key}")
    return dataclasses.replace(profile, **changes)


def load_config(path: Path, base: Profile) -> Profile:
    """Overrides from a JSON file (same shape as ``PUT /__admin__/profile``)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    return apply_overrides(base, data)


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything the process needs, resolved once from the command line."""

    host: str = "127.0.0.1"
    port: int = 0
    profile: Profile = field(default_factory=Profile)
    seed: int = 0
