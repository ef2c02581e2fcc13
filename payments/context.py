"""What every flow is given: the request, and the per-process ``Context``.

Both ``payments.api`` (the route table) and the flows import these, so they
live below both. The context also carries the flows' only sources of
non-determinism, new ids and the clocks, so a test can make them
deterministic (``payments.testing``) while the services keep the defaults.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from payments.auth import MerchantCache
from payments.config import ServiceSettings

IdSource = Callable[[int], str]
"""``nbytes`` random bytes as ``2 * nbytes`` hex digits, as ``secrets.token_hex``."""


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (timestamps sent to gateways)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (expiry of cached merchants)."""
        ...


_wall_clock, _monotonic_clock = time.time, time.monotonic


class SystemClock:
    """The real clocks: ``time.time`` and ``time.monotonic`` themselves (no extra call)."""

    time = staticmethod(_wall_clock)
    monotonic = staticmethod(_monotonic_clock)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    path: str
    params: Mapping[str, str]  # path parameters
    query: Mapping[str, str]
    authorization: str | None
    idempotency_key: str | None
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Context:
    """Per-process state a flow may use: settings, the merchant cache, ids and clocks."""

    settings: ServiceSettings
    clock: Clock = field(default_factory=SystemClock)
    ids: IdSource = secrets.token_hex
    merchants: MerchantCache = field(init=False)

    def __post_init__(self) -> None:
        self.merchants = MerchantCache(clock=self.clock.monotonic)
