"""Join the part files of a trial's generator processes into the run-directory files, and
judge from their counters whether the trial's numbers can be trusted.

Each Locust process leaves ``<part>.samples.csv.gz`` (headerless rows), ``<part>.hdr`` and
``<part>.json`` in the trial's parts folder. The trial gets one ``samples.csv.gz`` (header,
rows sorted by ``t``), one ``latency.hdr`` (the sum of the parts' histograms) and one
summary of the counters.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

from loadtests.config import RunConfig
from loadtests.recorder import new_histogram
from rundir import layout
from rundir.parts import read_part_summaries
from rundir.samples import read_part_samples, write_samples
from rundir.trial import TrialMeta, write_trial_meta


@dataclass
class PartsSummary:
    """The counters of every generator process of one trial, added up."""

    @property
    def generator_behind(self) -> int:
        """Measured starts late or dropped while a user was free (the generator's lag)."""
        return (self.late_starts - self.late_queued) + (self.dropped_starts - self.dropped_queued)

    parts: int = 0
    requests: int = 0
    measured: int = 0
    failures: int = 0
    cpu_warning: bool = False
    cpu_max: float = 0.0
    scheduled: int = 0
    late_starts: int = 0
    dropped_starts: int = 0
    late_queued: int = 0
    dropped_queued: int = 0
    max_lag_ms: float = 0.0
    timed_out: int = 0
    completed_in_window: int = 0
    ok_in_window: int = 0
    iterations_started: int = 0
    iterations_completed: int = 0
    iterations_failed: int = 0
    iterations_unfinished: int = 0
    t_start: float | None = None
    t0: float | None = None
    window_start: float | None = None
    window_end: float | None = None
    aborted: str | None = None
    roles: list[str] = field(default_factory=list)


def read_part_rows(path: Path) -> list[list[str]]:
    """Rows of one part (possibly several gzip members; a torn last member is skipped)."""
    return read_part_samples(path)


def summarise_parts(parts_dir: Path) -> PartsSummary:
    """Add up the ``<part>.json`` summaries."""
    summary = PartsSummary()
    for path, data in read_part_summaries(parts_dir):
        summary.parts += 1
        summary.roles.append(data.role if data.role is not None else path.stem)
        summary.requests += data.requests or 0
        summary.measured += data.measured or 0
        summary.failures += data.failures or 0
        summary.timed_out += data.timed_out or 0
        summary.completed_in_window += data.completed_in_window or 0
        summary.ok_in_window += data.ok_in_window or 0
        summary.iterations_started += data.iterations_started or 0
        summary.iterations_completed += data.iterations_completed or 0
        summary.iterations_failed += data.iterations_failed or 0
        summary.iterations_unfinished += data.iterations_unfinished or 0
        summary.cpu_warning = summary.cpu_warning or bool(data.cpu_warning)
        summary.cpu_max = max(summary.cpu_max, float(data.cpu_max or 0.0))
        if data.t_start is not None:
            summary.t_start = min(summary.t_start or data.t_start, data.t_start)
        # Every process of a trial shares the master's clock; a part without one (a
        # process that died before the schedule started) adds no window.
        if data.t0 is not None and summary.t0 is None:
            summary.t0 = float(data.t0)
        if data.window_start is not None and summary.window_start is None:
            summary.window_start = float(data.window_start)
        end = data.window_end
        if end is not None:  # a process that stopped its step early cut the window short
            summary.window_end = min(summary.window_end or float(end), float(end))
        if data.aborted and summary.aborted is None:
            summary.aborted = data.aborted
        counts = data.open
        if counts is not None:
            summary.scheduled += counts.scheduled or 0
            summary.late_starts += counts.late_starts or 0
            summary.dropped_starts += counts.dropped_starts or 0
            summary.late_queued += counts.late_queued or 0
            summary.dropped_queued += counts.dropped_queued or 0
            summary.max_lag_ms = max(summary.max_lag_ms, float(counts.max_lag_ms or 0.0))
    return summary


def merge_trial(parts_dir: Path, trial_dir: Path, *, keep_parts: bool = False) -> PartsSummary:
    """Write ``samples.csv.gz`` and ``latency.hdr`` of a trial from its parts."""
    rows: list[list[str]] = []
    for path in sorted(parts_dir.glob(f"*{layout.PART_SAMPLES_SUFFIX}")):
        rows.extend(read_part_rows(path))
    rows.sort(key=lambda row: float(row[0]))
    write_samples(trial_dir / layout.SAMPLES, rows)
    histogram = new_histogram()
    for path in sorted(parts_dir.glob(f"*{layout.PART_HDR_SUFFIX}")):
        histogram.add(HdrHistogram.decode(path.read_bytes()))
    (trial_dir / layout.HDR).write_bytes(histogram.encode())
    summary = summarise_parts(parts_dir)
    if not keep_parts:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return summary


def assess(
    summary: PartsSummary, *, config: RunConfig, exit_code: int | None, interrupted: str | None
) -> list[str]:
    """Why a trial's numbers cannot be trusted (empty when they can)."""
    reasons: list[str] = []
    if interrupted:
        reasons.append(f"incomplete: {interrupted}")
    if exit_code not in (0, None) and not interrupted:
        reasons.append(f"locust exited with code {exit_code}")
    if summary.cpu_warning:
        reasons.append(
            f"load generator CPU above 90% (cpu_warning, max {summary.cpu_max:.0f}%): "
            "add --processes or a bigger machine"
        )
    if summary.scheduled:
        behind = summary.generator_behind / summary.scheduled
        if behind > config.open_max_behind:
            reasons.append(
                f"the load generator fell behind its schedule: {summary.generator_behind} of "
                f"{summary.scheduled} starts were late or dropped while a user was free "
                f"({behind:.1%} > {config.open_max_behind:.1%}; worst lag "
                f"{summary.max_lag_ms:.0f} ms, generator CPU max {summary.cpu_max:.0f}%): "
                "the generator process was starved of CPU; use --processes or a rate this "
                "machine can generate"
            )
    if summary.measured == 0:
        reasons.append("no request was measured after the warm-up")
    return reasons


def manual_trial_json(summary: PartsSummary, trial_dir: Path, reasons: list[str]) -> TrialMeta:
    """``trial.json`` of a trial merged by hand: what the parts know (no run plan exists).

    Target and index come from the ``<target>-<n>`` directory name; the knobs only the
    person who ran Locust knows (users, rate, scenario, windows) are left null.
    """
    parsed = layout.parse_trial_name(trial_dir.name)
    target, index = parsed if parsed is not None else (trial_dir.name, 1)
    return TrialMeta(
        target=target,
        index=index,
        model="open" if summary.scheduled else "closed",
        started_at=summary.t_start,
        valid=not reasons,
        invalid_reasons=tuple(reasons),
        complete=True,
        late_starts=summary.late_starts,
        dropped_starts=summary.dropped_starts,
        late_queued=summary.late_queued,
        dropped_queued=summary.dropped_queued,
        scheduled_starts=summary.scheduled,
        max_start_lag_ms=summary.max_lag_ms,
        timed_out=summary.timed_out,
        window_start=summary.window_start,
        window_end=summary.window_end,
        cpu_warning=summary.cpu_warning,
        locust_cpu_max=summary.cpu_max,
        requests=summary.requests,
        requests_measured=summary.measured,
        failures=summary.failures,
        processes=sum(1 for role in summary.roles if role != "master"),
        merged_by_hand=True,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m loadtests.merge PARTS_DIR TRIAL_DIR``: join parts gathered by hand (e.g.
    from Locust workers on other machines) into a trial's samples.csv.gz and latency.hdr,
    and write its trial.json unless one is already there."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m loadtests.merge PARTS_DIR TRIAL_DIR", file=sys.stderr)
        return 2
    trial_dir = Path(args[1])
    trial_dir.mkdir(parents=True, exist_ok=True)
    summary = merge_trial(Path(args[0]), trial_dir, keep_parts=True)
    if not (trial_dir / layout.TRIAL_META).exists():
        # Without trial.json a report cannot tell whether the trial is valid and drops it.
        reasons = assess(summary, config=RunConfig(), exit_code=None, interrupted=None)
        write_trial_meta(trial_dir, manual_trial_json(summary, trial_dir, reasons))
    print(json.dumps(summary.__dict__, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
