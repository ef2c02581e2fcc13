"""The open-model schedule: iterations start at fixed intended times, whatever the server does.

Locust users are a closed model: a user waits for its response before sending again, so a
stalled server receives less load and the requests that were never sent are never
measured (coordinated omission). Like wrk2 and k6's ``constant-arrival-rate``, the open
model fixes the intended start of iteration ``k`` of process ``i`` (of ``P``) at
``t0 + (k * P + i) / rate``, spreading the slots of all generator processes evenly. A
free user claims the next slot, sleeps until its intended time and runs one iteration; the
first request of the iteration is measured from the *intended* start, so time spent
waiting for a free user counts as latency.

Two counters tell when the generator itself fell behind:

* a *late start* begins more than ``late_ms`` after its intended time (every user was
  busy, or the process was starved of CPU); it is still sent and measured from its
  intended time, as wrk2 does;
* a *dropped start* is a slot more than ``drop_after_ms`` behind when a user gets to it, or
  a slot of the measured window that no user claimed before the window closed (due
  more than ``late_ms`` before its end); it is not
  sent, and it is counted like k6's ``dropped_iterations``.

A slot whose request was sent but never answered before the trial ended is *unfinished*:
the harness records it as a failed sample whose latency is at least ``end - intended``, so
a saturated server shows up in the errors and the tail instead of vanishing.

Only slots inside the measured window (after the warm-up) are counted. This module is pure
(the clock is injected) so it is tested without Locust.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenSettings:
    """Arrival rate of the whole run and this process's share of it."""

    rate: float
    processes: int = 1
    index: int = 0
    late_ms: float = 50.0
    drop_after_ms: float = 1000.0


class OpenSchedule:
    """Hands out intended start times to the users of one generator process."""

    def __init__(self, settings: OpenSettings, clock: Callable[[], float] = time.time) -> None:
        if settings.rate <= 0 or settings.processes < 1:
            raise ValueError("rate must be > 0 and processes >= 1")
        self.settings = settings
        self.clock = clock
        self.t0: float | None = None
        self.measure_from = float("inf")
        self.measure_until = float("inf")
        self.next_k = 0
        self.scheduled = 0
        self.late = 0
        self.dropped = 0
        self.max_lag_ms = 0.0
        self.in_flight: set[float] = set()

    def start(self, t0: float, *, measure_from: float, measure_until: float) -> None:
        """Fix the schedule's origin and the window whose slots are counted.

        The origin is rounded up to the epoch lattice of period ``processes / rate``, so
        generator processes that start a few milliseconds apart still interleave exactly.
        """
        if self.t0 is None:
            period = self.settings.processes / self.settings.rate
            self.t0 = math.ceil(t0 / period) * period
            self.measure_from = measure_from
            self.measure_until = measure_until

    def intended(self, k: int) -> float:
        """Intended start (epoch s) of this process's slot ``k``."""
        if self.t0 is None:
            raise RuntimeError("schedule not started")
        s = self.settings
        return self.t0 + (k * s.processes + s.index) / s.rate

    def _measured(self, intended: float) -> bool:
        return self.measure_from <= intended < self.measure_until

    def claim(self) -> float:
        """The next slot worth starting; slots already too far behind are dropped."""
        if self.t0 is None:
            self.start(self.clock(), measure_from=float("-inf"), measure_until=float("inf"))
        drop_after = self.settings.drop_after_ms / 1000.0
        now = self.clock()
        while True:
            intended = self.intended(self.next_k)
            self.next_k += 1
            measured = self._measured(intended)
            if measured:
                self.scheduled += 1
            if now - intended <= drop_after:
                return intended
            if measured:
                self.dropped += 1

    def started(self, intended: float, actual: float) -> None:
        """The iteration of slot ``intended`` actually began at ``actual``."""
        lag_ms = (actual - intended) * 1000.0
        self.in_flight.add(intended)
        if self._measured(intended):
            self.max_lag_ms = max(self.max_lag_ms, lag_ms)
            if lag_ms > self.settings.late_ms:
                self.late += 1

    def answered(self, intended: float) -> None:
        """The first request of the iteration of slot ``intended`` got its response."""
        self.in_flight.discard(intended)

    def unfinished(self) -> list[float]:
        """Measured slots whose first request never got a response (the server stalled)."""
        return sorted(t for t in self.in_flight if self._measured(t))

    def finish(self, t_end: float) -> None:
        """Count measured-window slots that were due by ``t_end`` but never claimed."""
        if self.t0 is None:
            return
        # A slot due more than late_ms before the end that never started is lost.
        horizon = min(t_end - self.settings.late_ms / 1000.0, self.measure_until)
        while self.intended(self.next_k) < horizon:
            if self._measured(self.intended(self.next_k)):
                self.scheduled += 1
                self.dropped += 1
            self.next_k += 1

    def counts(self) -> dict[str, float]:
        """Counters for the trial summary."""
        return {
            "scheduled": self.scheduled,
            "late_starts": self.late,
            "dropped_starts": self.dropped,
            "max_lag_ms": round(self.max_lag_ms, 3),
        }


def behind_fraction(scheduled: int, late: int, dropped: int) -> float:
    """Share of measured slots that started late or not at all."""
    return (late + dropped) / scheduled if scheduled else 0.0
