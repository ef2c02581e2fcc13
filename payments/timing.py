"""Where a request's time goes: the database, the cache, the gateways.

The effect loops of ``payments.effects`` time every effect they execute and
add it here, when a request has asked for it: a service's edge (its
middleware) puts a fresh ``EffectTimes`` into ``current_times`` when the
request arrives and reads it when the response is ready, to write the
``Server-Timing`` header (``serving.server_timing``). The three parts are
therefore measured at the same place, the same way, in every service.

Without an ``EffectTimes`` in the context (the setting is off, or a
background task such as the reconciler) the loops measure nothing.
"""

from __future__ import annotations

import time
from contextvars import ContextVar


class EffectTimes:
    """Seconds and counts per kind of effect for one request; ``started`` is its arrival.

    Plain slots and numbers, updated in place by the effect loops: one is made
    per request and updated per effect, so it must cost next to nothing.
    """

    __slots__ = ("cache_n", "cache_s", "db_n", "db_s", "gateway_n", "gateway_s", "started")

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self.db_s = 0.0
        self.db_n = 0
        self.cache_s = 0.0
        self.cache_n = 0
        self.gateway_s = 0.0
        self.gateway_n = 0


current_times: ContextVar[EffectTimes | None] = ContextVar("current_times", default=None)
"""The ``EffectTimes`` of the request being served, or None when nobody asked."""
