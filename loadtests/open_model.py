"""A trial's clock: warm-up, measured window and drain, and the open-model schedule.

Every generator process of a trial shares one origin ``t0``, fixed only once all its users
exist (they are spawned first, never on the schedule). Then:

* ``[t0, t0 + warmup)`` is the warm-up: requests are sent and recorded, never counted;
* ``[window_start, window_end)`` is the measured window: iterations *starting* in it are
  the window's work, and everything the target *completes* in it is its throughput;
* after ``window_end`` no new iteration starts; iterations still running are awaited for
  up to ``drain_s`` (the drain) and count in latency from their start; those still
  running after that are *timed out* (counted, shown, and never hidden as a throughput).

The open model (like wrk2 and k6's ``constant-arrival-rate``) fixes the intended start of
process ``i``'s (of ``P``) slot ``k`` at ``t0 + (k * P + i) / rate``. Slots are handed to
idle users at their intended time; the first request of an iteration is measured from the
*intended* start, so time spent waiting for a free user counts as latency. Two counters
say when the generator itself fell behind:

* a *late start* begins more than ``late_ms`` after its intended time (every user was busy,
  or the generator was starved of CPU); it is still sent and measured from its intended
  time, as wrk2 does;
* a *dropped start* is a slot more than ``drop_after_ms`` behind when a user gets to it; it
  is not sent and is counted, like k6's ``dropped_iterations``.

Either happens for one of two reasons, counted apart: the slot waited because every user
was busy with the target (*queued*: the target held the whole concurrency cap, which is
the target's doing), or a user was free and the generator itself was late (its CPU, its
event loop). Only the second makes a trial's numbers untrustworthy.

Only slots inside the measured window are counted. This module is pure (no gevent, no
clock of its own) so it is tested without Locust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from rundir.parts import OpenCounts
from rundir.samples import AFTER, MEASURED, WARMUP  # the samples' ``warmup`` column


@dataclass(frozen=True)
class TrialClock:
    """The phases of one trial, in epoch seconds."""

    t0: float
    warmup_s: float
    duration_s: float
    drain_s: float

    # computed once: every recorded request asks for them
    @cached_property
    def window_start(self) -> float:
        return self.t0 + self.warmup_s

    @cached_property
    def window_end(self) -> float:
        return self.window_start + self.duration_s

    @cached_property
    def drain_deadline(self) -> float:
        return self.window_end + self.drain_s

    def phase(self, started: float) -> int:
        """``WARMUP``, ``MEASURED`` or ``AFTER`` for an iteration that started at ``started``."""
        if started < self.window_start:
            return WARMUP
        return MEASURED if started < self.window_end else AFTER

    def in_window(self, t: float) -> bool:
        """Whether an event at ``t`` (a completion) falls inside the measured window."""
        return self.window_start <= t < self.window_end


@dataclass(frozen=True)
class OpenSettings:
    """Arrival rate of the whole run and this process's share of it."""

    rate: float
    processes: int = 1
    index: int = 0
    late_ms: float = 50.0
    drop_after_ms: float = 1000.0

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)) or self.processes < 1:
            raise ValueError("rate must be > 0 and processes >= 1")
        if not 0 <= self.index < self.processes:
            raise ValueError("index must be within 0..processes-1")


class OpenSchedule:
    """The intended starts of one generator process, and what became of them."""

    def __init__(self, settings: OpenSettings, clock: TrialClock) -> None:
        self.settings = settings
        self.clock = clock
        self.next_k = 0
        self.scheduled = 0
        self.late = 0
        self.dropped = 0
        self.late_queued = 0
        self.dropped_queued = 0
        self.max_lag_ms = 0.0

    def intended(self, k: int) -> float:
        """Intended start (epoch s) of this process's slot ``k``."""
        s = self.settings
        return self.clock.t0 + (k * s.processes + s.index) / s.rate

    def next_slot(self) -> float | None:
        """The next slot's intended start, or None once the measured window is over."""
        intended = self.intended(self.next_k)
        if intended >= self.clock.window_end:
            return None
        self.next_k += 1
        if self.clock.phase(intended) == MEASURED:
            self.scheduled += 1
        return intended

    def too_late(self, intended: float, now: float, *, queued: bool = False) -> bool:
        """Whether a slot reached at ``now`` is dropped (and count it if so).

        ``queued``: the slot waited for a free user (every user was busy with the target).
        """
        if (now - intended) * 1000.0 <= self.settings.drop_after_ms:
            return False
        if self.clock.phase(intended) == MEASURED:
            self.dropped += 1
            self.dropped_queued += int(queued)
        return True

    def started(self, intended: float, actual: float, *, queued: bool = False) -> None:
        """The iteration of slot ``intended`` actually began at ``actual``.

        ``queued``: it waited for a free user; lateness is then the target's doing (its
        requests held every user), not the generator's.
        """
        if self.clock.phase(intended) != MEASURED:
            return
        lag_ms = (actual - intended) * 1000.0
        if not queued:
            self.max_lag_ms = max(self.max_lag_ms, lag_ms)
        if lag_ms > self.settings.late_ms:
            self.late += 1
            self.late_queued += int(queued)

    def generator_behind(self) -> int:
        """Measured slots late or dropped while a user was free: the generator's own lag."""
        return self.late - self.late_queued + self.dropped - self.dropped_queued

    def counts(self) -> OpenCounts:
        """Counters for the trial summary."""
        return OpenCounts(
            scheduled=self.scheduled,
            late_starts=self.late,
            dropped_starts=self.dropped,
            late_queued=self.late_queued,
            dropped_queued=self.dropped_queued,
            max_lag_ms=round(self.max_lag_ms, 3),
        )


def behind_fraction(scheduled: int, late: int, dropped: int) -> float:
    """Share of measured slots that started late or not at all."""
    return (late + dropped) / scheduled if scheduled else 0.0


@dataclass(frozen=True)
class AbortRule:
    """When a trial can stop early because its outcome is already certain to be a failure.

    Used by the capacity search, where a step only has to say *whether* the target held
    the rate: once more requests than the objective allows have exceeded its latency (or
    failed), or more starts than allowed were late or dropped, no remaining second can
    save the step, and every second more only feeds the target's backlog.
    """

    p99_ms: float
    error_ratio: float = 0.01
    behind_ratio: float = 0.01
    # The window's request count is unknown until its end; bound it from above by the
    # requests per iteration seen so far times this margin.
    margin: float = 2.0

    def verdict(self, *, planned_iterations: float, requests_per_iteration: float,
                over: int, failed: int, behind: int) -> str | None:
        """Why the step has already failed, or None while it still could pass."""
        total = planned_iterations * max(requests_per_iteration, 1.0) * self.margin
        if over > 0.01 * total:
            return (f"{over} requests already slower than the objective's {self.p99_ms:g} ms: "
                    "its p99 cannot be met")
        if failed > self.error_ratio * total:
            return f"{failed} requests already failed: the error objective cannot be met"
        if behind > self.behind_ratio * planned_iterations:
            return f"{behind} starts already late or dropped"
        return None
