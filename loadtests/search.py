"""The capacity search of one target: a geometric ramp, then bisection, then stop.

Rates are scenario iterations per second (the open model's offered rate). The search
starts at ``start`` and multiplies the rate after every sustained step, by ``fast_factor``
while latency is still flat (mean latency at most ``1 + flat`` times the first step's) and
by ``factor`` once it rises, until a step is not sustained. It then bisects between the highest
sustained and the lowest unsustained rate in log space until they are within
``resolution`` of each other. A target that fails its very first step is searched
downwards the same way. A target is never stepped again once the bracket is that narrow,
and never above a rate it already failed, so no time goes to waiting for the backlog of a
target known to be over capacity.

An overloaded step also says how much the target served: a target that completes only a
part of what starts cannot hold more than that part of the offered rate (plus a margin),
so the next bisection starts below it.

A step that proves nothing about the target (its load generator fell behind) ends the
search there: the capacity is at least the highest sustained rate, and the caller says
it was limited by the generator. This module is pure and tested against simulated
queues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SearchSettings:
    """How one target's rate is searched."""

    start: float = 2.0
    factor: float = 2.0
    fast_factor: float = 4.0
    flat: float = 1.0
    resolution: float = 0.10
    floor: float = 0.1
    ceiling: float = 100_000.0
    max_steps: int = 20

    def __post_init__(self) -> None:
        if not (self.start > 0 and self.factor > 1 and self.fast_factor >= self.factor
                and self.resolution > 0 and 0 < self.floor <= self.start <= self.ceiling):
            raise ValueError("search needs start > 0, factors > 1, resolution > 0 and "
                             "floor <= start <= ceiling")


@dataclass
class Step:
    """One step taken: its rate and outcome (None: inconclusive).

    ``ceiling``: for a step the target could not keep up with, the rate its completions
    showed it can serve at most (the offered rate scaled by completed / started requests).
    """

    rate: float
    sustained: bool | None
    mean_ms: float | None = None
    ceiling: float | None = None


@dataclass
class RateSearch:
    """The state of one target's search."""

    settings: SearchSettings = field(default_factory=SearchSettings)
    steps: list[Step] = field(default_factory=list)
    inconclusive: float | None = None

    @property
    def lo(self) -> float | None:
        """Highest sustained rate so far."""
        return max((s.rate for s in self.steps if s.sustained), default=None)

    @property
    def hi(self) -> float | None:
        """Lowest rate found unsustained (or inconclusive) so far, or lower where an
        overloaded step's completions bound the capacity (never at or below ``lo``)."""
        rates = [s.rate for s in self.steps if s.sustained is not True]
        lo = self.lo
        rates += [s.ceiling for s in self.steps if s.ceiling is not None
                  and (lo is None or s.ceiling > lo)]
        return min(rates, default=None)

    @property
    def done(self) -> bool:
        return self.next_rate() is None

    @property
    def outcome(self) -> str:
        """Why the search ended (or ``searching``)."""
        if not self.done:
            return "searching"
        if self.inconclusive is not None:
            return "generator"
        lo, hi = self.lo, self.hi
        if lo is None:
            return "below floor"
        if hi is None:
            return "above ceiling" if lo >= self.settings.ceiling else "step limit"
        return "bracketed" if hi / lo <= 1 + self.settings.resolution else "step limit"

    def record(self, rate: float, sustained: bool | None, mean_ms: float | None = None,
               ceiling: float | None = None) -> None:
        """The outcome of the step at ``rate``."""
        self.steps.append(Step(rate, sustained, mean_ms,
                               ceiling if ceiling is not None and ceiling < rate else None))
        if sustained is None and self.inconclusive is None:
            self.inconclusive = rate

    def next_rate(self) -> float | None:
        """The next rate to try, or None when the search is over."""
        s = self.settings
        if len(self.steps) >= s.max_steps or self.inconclusive is not None:
            return None
        if not self.steps:
            return s.start
        lo, hi = self.lo, self.hi
        if hi is None:  # still ramping up, at most to the ceiling itself
            assert lo is not None
            if lo >= s.ceiling:
                return None
            return min(lo * self._ramp_factor(), s.ceiling)
        if lo is None:  # even the lowest rate failed: ramp down
            nxt = hi / s.factor
            return nxt if nxt >= s.floor else None
        if hi / lo <= 1 + s.resolution:
            return None
        return math.sqrt(lo * hi)

    def _ramp_factor(self) -> float:
        s = self.settings
        first = self.steps[0].mean_ms
        last = self.steps[-1].mean_ms
        if first is not None and last is not None and first > 0 and last <= first * (1 + s.flat):
            return s.fast_factor
        return s.factor

    def remaining_estimate(self) -> int:
        """A rough count of the steps still to come (for the progress line's ETA)."""
        s = self.settings
        if self.done:
            return 0
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return max(1, math.ceil(math.log(math.log(hi / lo) / math.log(1 + s.resolution), 2)))
        # ramping: assume the knee is a couple of steps away, then a bracket of one factor
        return 2 + max(1, math.ceil(math.log(math.log(s.factor) / math.log(1 + s.resolution),
                                             2)))
