"""``trial.json``: what one trial was asked to do, what its generator processes counted,
and whether its numbers can be trusted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rundir import layout
from rundir.jsondoc import Doc, read_object, write_json


@dataclass(frozen=True, kw_only=True)
class TrialMeta(Doc):
    """The content of ``trials/<target>-<n>/trial.json``.

    Times are unix seconds; the measured window is ``[window_start, window_end)`` of the
    generators' shared clock. Counts are added up over the trial's generator processes.
    """

    target: str | None
    index: int | None  # 1-based, per target
    order: int | None = None  # 0-based position in the run's interleaved schedule
    model: str | None = None  # "open" or "closed"
    users: int | None = None
    rate: float | None = None  # offered scenario iterations/s (open model)
    step: int | None = None  # step of a stairs sweep
    offered: float | None = None  # the step's users or rate
    phase: str | None = None  # capacity search: "search", "confirm" or "common"
    aborted: str | None = None  # why the trial stopped early, once it certainly failed
    scenario: str | None = None
    warmup_s: float | None = None
    duration_s: float | None = None
    started_at: float | None = None  # users started being spawned
    launched_at: float | None = None  # the generator was started
    ended_at: float | None = None
    valid: bool | None = None
    invalid_reasons: tuple[str, ...] | None = None
    complete: bool | None = None
    window_start: float | None = None
    window_end: float | None = None
    drain_s: float | None = None
    late_starts: int | None = None
    dropped_starts: int | None = None
    late_queued: int | None = None  # of late_starts: no user was free
    dropped_queued: int | None = None
    scheduled_starts: int | None = None
    max_start_lag_ms: float | None = None
    timed_out: int | None = None  # requests the drain gave up on
    completed_in_window: int | None = None
    ok_in_window: int | None = None
    iterations_started: int | None = None
    iterations_completed: int | None = None
    iterations_failed: int | None = None
    iterations_unfinished: int | None = None
    cpu_warning: bool | None = None
    locust_cpu_max: float | None = None
    requests: int | None = None
    requests_measured: int | None = None
    failures: int | None = None
    gateway_profile: str | None = None
    gateway_latency_ms: float | None = None  # the gateway sweep's payment-call median
    processes: int | None = None  # generator processes
    idle_wait_s: float | None = None  # waiting for the targets to go idle before it
    merged_by_hand: bool | None = None  # written by ``python -m loadtests.merge``


    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"merged_by_hand"})


def write_trial_meta(trial_dir: Path, meta: TrialMeta) -> None:
    """Write ``trial.json`` into a trial's folder."""
    write_json(trial_dir / layout.TRIAL_META, meta.to_json())


def read_trial_meta(trial_dir: Path) -> TrialMeta:
    """Read a trial's ``trial.json``; ``DocError`` if it is missing, corrupt or no object."""
    return TrialMeta.from_json(read_object(trial_dir / layout.TRIAL_META))
