"""The open-model schedule, and the open vs closed model against a server that stalls once."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd

from loadtests.open_model import OpenSchedule, OpenSettings, behind_fraction
from loadtests.trials import TrialPlan, TrialRunner
from tests.loadtests.conftest import ping_config
from tests.loadtests.servers import stall_server


class Clock:
    """A settable clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_slots_are_spread_over_processes() -> None:
    """Process i of P gets slots t0 + (k*P + i)/rate, so processes interleave evenly."""
    a = OpenSchedule(OpenSettings(rate=100, processes=2, index=0), clock=Clock(0.0))
    b = OpenSchedule(OpenSettings(rate=100, processes=2, index=1), clock=Clock(0.0))
    for s in (a, b):
        s.start(10.0, measure_from=10.0, measure_until=20.0)
    times = sorted([a.claim() for _ in range(3)] + [b.claim() for _ in range(3)])
    assert np.allclose(np.diff(times), 0.01)


def test_late_and_dropped_starts_are_counted() -> None:
    """A slot claimed behind schedule is late; one beyond drop_after is dropped, not returned."""
    clock = Clock(100.0)
    s = OpenSchedule(OpenSettings(rate=10, late_ms=25, drop_after_ms=500), clock=clock)
    s.start(100.0, measure_from=100.0, measure_until=110.0)
    first = s.claim()
    s.started(first, first + 0.001)
    clock.now = 101.0  # one second later: slots at 100.1 .. 100.4 are > 500 ms behind
    slot = s.claim()
    assert slot >= 100.5
    s.started(slot, clock.now)
    assert s.dropped == 4
    assert s.late == 1
    assert s.scheduled == 6
    s.finish(102.0)  # nobody claimed 100.6 .. 101.9: dropped at the end of the window
    assert s.dropped > 4
    assert behind_fraction(s.scheduled, s.late, s.dropped) > 0.5


def test_warmup_slots_are_not_counted() -> None:
    """Slots before measure_from are handed out but do not count as late or dropped."""
    clock = Clock(50.0)
    s = OpenSchedule(OpenSettings(rate=10), clock=clock)
    s.start(0.0, measure_from=1000.0, measure_until=2000.0)
    s.claim()
    assert (s.scheduled, s.dropped) == (0, 0)


def _run(tmp_path: Path, name: str, **overrides: object) -> pd.DataFrame:
    cfg = ping_config(tmp_path, **overrides)
    with stall_server(stall_after_s=1.5, stall_s=1.0) as url:
        runner = TrialRunner(tmp_path, cfg, urls={name: url}, api_keys={}, stack=None,
                             base_env=dict(os.environ), log=lambda _line: None)
        trial = runner.run_one(TrialPlan(target=name, index=1, order=0, users=cfg.users,
                                         rate=cfg.rate, warmup_s=0.5, duration_s=3.5))
    assert trial["complete"]
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
