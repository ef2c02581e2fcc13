"""The open-model schedule, and the open vs closed model against a server that stalls once."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loadtests.open_model import OpenSchedule, OpenSettings, TrialClock, behind_fraction
from loadtests.trials import TrialPlan, TrialRunner
from rundir.samples import AFTER, MEASURED, WARMUP
from tests.loadtests.conftest import ping_config
from tests.loadtests.servers import stall_server


def _schedule(rate: float, *, processes: int = 1, index: int = 0, t0: float = 10.0,
              warmup_s: float = 0.0, duration_s: float = 10.0, **kw: float) -> OpenSchedule:
    settings = OpenSettings(rate=rate, processes=processes, index=index, **kw)
    return OpenSchedule(settings, TrialClock(t0, warmup_s, duration_s, drain_s=5.0))


def test_slots_are_spread_over_processes() -> None:
    """Process i of P gets slots t0 + (k*P + i)/rate, so processes interleave evenly."""
    a = _schedule(100, processes=2, index=0)
    b = _schedule(100, processes=2, index=1)
    times = sorted([a.next_slot() for _ in range(3)] + [b.next_slot() for _ in range(3)])
    assert np.allclose(np.diff(times), 0.01)


def test_schedule_ends_with_the_window() -> None:
    """No slot is handed out at or after the end of the measured window."""
    s = _schedule(10, t0=0.0, warmup_s=1.0, duration_s=2.0)
    slots = []
    while (slot := s.next_slot()) is not None:
        slots.append(slot)
    assert len(slots) == 30
    assert max(slots) < 3.0
    assert s.scheduled == 20  # only the window's slots count


def test_late_and_dropped_starts_are_counted_by_cause() -> None:
    """A start later than late_ms is late; one beyond drop_after is dropped; causes apart."""
    s = _schedule(10, t0=100.0, late_ms=25, drop_after_ms=500)
    first = s.next_slot()
    assert first is not None
    s.started(first, first + 0.001)
    second = s.next_slot()
    assert second is not None
    s.started(second, second + 0.2)  # the generator itself was late
    third = s.next_slot()
    assert third is not None
    s.started(third, third + 0.3, queued=True)  # every user was busy
    fourth = s.next_slot()
    assert fourth is not None
    assert s.too_late(fourth, fourth + 0.6, queued=True)
    assert not s.too_late(fourth, fourth + 0.4)
    assert (s.late, s.late_queued, s.dropped, s.dropped_queued) == (2, 1, 1, 1)
    assert s.generator_behind() == 1
    assert s.max_lag_ms == pytest.approx(200.0, abs=1e-6)  # queued waits are the target's
    assert behind_fraction(s.scheduled, s.late, s.dropped) == 0.75


def test_warmup_slots_are_not_counted() -> None:
    """Slots before the window are handed out but do not count as scheduled, late or dropped."""
    s = _schedule(10, t0=0.0, warmup_s=1000.0)
    slot = s.next_slot()
    assert slot is not None
    s.started(slot, slot + 5.0)
    assert s.too_late(slot, slot + 5.0)
    assert (s.scheduled, s.late, s.dropped) == (0, 0, 0)


def test_trial_clock_phases() -> None:
    """An iteration belongs to the phase in which it started; completions count in the window."""
    clock = TrialClock(t0=100.0, warmup_s=2.0, duration_s=10.0, drain_s=3.0)
    assert (clock.window_start, clock.window_end, clock.drain_deadline) == (102.0, 112.0, 115.0)
    assert clock.phase(101.9) == WARMUP
    assert clock.phase(102.0) == MEASURED
    assert clock.phase(112.0) == AFTER
    assert clock.in_window(111.99)
    assert not clock.in_window(112.0)


def _run(tmp_path: Path, name: str, **overrides: object) -> pd.DataFrame:
    cfg = ping_config(tmp_path, **overrides)
    # The idle check's three probes come first; the stall starts 1.5 s into the load.
    with stall_server(stall_after_s=1.5, stall_s=1.0, skip=3) as url:
        runner = TrialRunner(tmp_path, cfg, urls={name: url}, api_keys={}, stack=None,
                             base_env=dict(os.environ), log=lambda _line: None)
        trial = runner.run_one(TrialPlan(target=name, index=1, order=0, users=cfg.users,
                                         rate=cfg.rate, warmup_s=0.5, duration_s=3.5))
    assert trial.complete
    with gzip.open(tmp_path / "trials" / f"{name}-1" / "samples.csv.gz", "rt") as fh:
        samples = pd.read_csv(fh)
    measured: pd.DataFrame = samples[samples["warmup"] == 0]
    return measured


def test_open_model_shows_the_stall_the_closed_model_hides(tmp_path: Path) -> None:
    """After a 1 s stall the open model's p99 is near 1 s while the closed model's stays low."""
    closed = _run(tmp_path, "closed", users=5)
    opened = _run(tmp_path, "open", rate=200, users=300)
    p99_closed = float(np.percentile(closed["latency_ms"], 99))
    p99_open = float(np.percentile(opened["latency_ms"], 99))
    assert closed["latency_ms"].max() > 800  # the stall happened in both runs
    assert p99_open > 500
    assert p99_open > 5 * p99_closed
