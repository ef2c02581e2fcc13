"""The capacity search's rate decisions, against simulated targets whose capacity is known."""

from __future__ import annotations

import math
import random

import pytest

from loadtests.search import RateSearch, SearchSettings


class SimulatedQueue:
    """An M/D/1-like target: holds any rate up to ``capacity``; its mean latency grows as
    ``service / (1 - load)`` on the way (so the ramp sees latency rise near the knee)."""

    def __init__(self, capacity: float, service_ms: float = 50.0, noise: float = 0.0,
                 seed: int = 0) -> None:
        self.capacity = capacity
        self.service_ms = service_ms
        self.noise = noise
        self.rng = random.Random(seed)

    def step(self, rate: float) -> tuple[bool, float, float | None]:
        """(sustained, mean latency ms, completion ceiling) of a step at ``rate``."""
        # noise: the capacity seen by one short step wobbles around the true one
        seen = self.capacity * (1 + self.rng.uniform(-self.noise, self.noise))
        load = rate / seen
        if load < 1:
            return True, self.service_ms / (1 - load * 0.9), None
        return False, self.service_ms * 20, seen * 1.1  # with the caller's margin


def run(search: RateSearch, target: SimulatedQueue, *, use_ceiling: bool = True) -> list[float]:
    """Drive ``search`` to its end; the rates it tried."""
    rates: list[float] = []
    while (rate := search.next_rate()) is not None:
        rates.append(rate)
        sustained, mean, ceiling = target.step(rate)
        search.record(rate, sustained, mean, ceiling if use_ceiling else None)
    return rates


@pytest.mark.parametrize("capacity", [0.7, 3.0, 17.0, 80.0, 333.0, 2500.0])
def test_search_brackets_the_capacity_within_the_resolution(capacity: float) -> None:
    """The highest sustained rate is within 10% below the capacity; nothing above holds."""
    search = RateSearch(SearchSettings(start=2.0, resolution=0.10))
    rates = run(search, SimulatedQueue(capacity))
    assert search.outcome == "bracketed"
    assert search.lo is not None
    assert capacity / 1.1 <= search.lo <= capacity
    assert len(rates) <= 12


def test_search_never_steps_above_a_failed_rate() -> None:
    """Once a rate failed, every later rate is below it (no waiting on a known overload)."""
    search = RateSearch(SearchSettings(start=2.0))
    rates = run(search, SimulatedQueue(50.0), use_ceiling=False)
    first_fail = next(i for i, r in enumerate(rates) if r > 50.0)
    assert all(r < rates[first_fail] for r in rates[first_fail + 1:])


def test_the_ramp_is_faster_while_latency_is_flat() -> None:
    """Flat latency: x4 per step; once latency rises: x2."""
    search = RateSearch(SearchSettings(start=2.0, factor=2.0, fast_factor=4.0, flat=0.25))
    search.record(2.0, True, 50.0)
    assert search.next_rate() == 8.0
    search.record(8.0, True, 55.0)
    assert search.next_rate() == 32.0
    search.record(32.0, True, 90.0)  # rising: 80% above the first step
    assert search.next_rate() == 64.0


def test_an_overloaded_steps_completions_shorten_the_bisection() -> None:
    """The completion ceiling of an overloaded step replaces it as the upper bracket:
    over many capacities the search takes fewer steps, and still brackets each one."""
    capacities = [7.0, 17.0, 50.0, 100.0, 300.0, 1000.0]
    steps_with = steps_without = 0
    settings = SearchSettings(start=2.0, flat=0.25)  # an early x2 ramp: knees overshot less
    for capacity in capacities:
        search = RateSearch(settings)
        steps_with += len(run(search, SimulatedQueue(capacity)))
        assert search.lo is not None
        assert capacity / 1.1 <= search.lo <= capacity
        steps_without += len(run(RateSearch(settings), SimulatedQueue(capacity),
                                 use_ceiling=False))
    assert steps_with < steps_without


def test_a_target_failing_the_first_rate_is_searched_downwards() -> None:
    """First step fails: halve until one holds, then bisect; below the floor: give up."""
    search = RateSearch(SearchSettings(start=8.0, floor=0.5))
    run(search, SimulatedQueue(1.3), use_ceiling=False)
    assert search.lo is not None
    assert 1.3 / 1.1 <= search.lo <= 1.3
    hopeless = RateSearch(SearchSettings(start=8.0, floor=0.5))
    run(hopeless, SimulatedQueue(0.1), use_ceiling=False)
    assert hopeless.lo is None
    assert hopeless.outcome == "below floor"


def test_an_inconclusive_step_ends_the_search() -> None:
    """A step whose generator fell behind proves nothing: the search stops, lower bound kept."""
    search = RateSearch(SearchSettings(start=2.0))
    search.record(2.0, True, 10.0)
    search.record(8.0, None, 10.0)
    assert search.next_rate() is None
    assert search.outcome == "generator"
    assert search.lo == 2.0


def test_step_limit_and_ceiling() -> None:
    """The search stops after max_steps, and never ramps past its ceiling."""
    search = RateSearch(SearchSettings(start=2.0, max_steps=3))
    run(search, SimulatedQueue(1e9))
    assert len(search.steps) == 3
    assert search.outcome == "step limit"
    capped = RateSearch(SearchSettings(start=2.0, ceiling=100.0))
    run(capped, SimulatedQueue(1e9))
    assert capped.outcome == "above ceiling"
    assert max(s.rate for s in capped.steps) <= 100.0


def test_a_noisy_target_still_ends_near_its_capacity() -> None:
    """With +-10% step-to-step noise the search ends within the step limit, near capacity."""
    for seed in range(20):
        search = RateSearch(SearchSettings(start=2.0))
        run(search, SimulatedQueue(120.0, noise=0.10, seed=seed))
        assert search.done
        assert search.lo is not None
        assert 120.0 / 1.1 / 1.1 <= search.lo <= 120.0 * 1.1


def test_remaining_estimate_counts_down() -> None:
    """The ETA's step estimate reaches zero when the search is over."""
    search = RateSearch(SearchSettings(start=2.0))
    estimates = []
    target = SimulatedQueue(40.0)
    while (rate := search.next_rate()) is not None:
        estimates.append(search.remaining_estimate())
        sustained, mean, ceiling = target.step(rate)
        search.record(rate, sustained, mean, ceiling)
    assert search.remaining_estimate() == 0
    assert all(e >= 1 for e in estimates)
    assert math.isfinite(sum(estimates))


def test_settings_are_checked() -> None:
    """Nonsense settings are refused with a message."""
    with pytest.raises(ValueError, match="factors > 1"):
        SearchSettings(start=2.0, factor=1.0)
    with pytest.raises(ValueError, match="floor <= start"):
        SearchSettings(start=0.1, floor=0.5)
