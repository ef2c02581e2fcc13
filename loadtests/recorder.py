"""Full-precision request recording inside a load-generator process.

Locust rounds response times to about two significant digits before bucketing them, so
its percentiles cannot be trusted in the tail. The recorder keeps every request instead:
one CSV row per request (gzip, flushed in batches so a crash loses little) and an
HdrHistogram of the post-warm-up latencies in microseconds. Each generator process writes
its own *part* files; :mod:`loadtests.merge` joins the parts of a trial afterwards.

This module does not import Locust: the locustfile wires these methods to Locust events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from loadtests.open_model import TrialClock
from loadtests.server_timing import timing_values
from rundir import layout
from rundir.parts import OpenCounts, PartDoc, write_part_summary
from rundir.samples import (
    HDR_DIGITS,
    HDR_HIGHEST_US,
    HDR_LOWEST_US,
    MEASURED,
    TIMED_OUT,
    WARMUP,
    Sample,
    append_part_samples,
)

# a row's client-side fields; the server's parts (from its Server-Timing header) follow
CLIENT_FIELDS = Sample._fields.index("server_total_ms")
FLUSH_EVERY = 2000
HOLD_LIMIT = 500_000  # rows kept in memory while the window runs (about 100 MB at most)


def new_histogram() -> HdrHistogram:
    """An empty histogram with paybench's fixed range: 1 us .. 60 s, 3 significant digits."""
    return HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)


def to_us(latency_ms: float) -> int:
    """Latency in whole microseconds, clamped into the histogram's range."""
    return min(max(round(latency_ms * 1000.0), HDR_LOWEST_US), HDR_HIGHEST_US)


@dataclass(frozen=True)
class RecorderSettings:
    """Where a generator process writes its part files, and the trial's time windows."""

    parts_dir: Path
    warmup_s: float
    duration_s: float
    drain_s: float = 5.0

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> RecorderSettings | None:
        """Settings passed by the harness, or None when Locust runs without the harness."""
        parts = env.get("PAYBENCH_PARTS_DIR")
        if not parts:
            return None
        return cls(
            parts_dir=Path(parts),
            warmup_s=float(env.get("PAYBENCH_WARMUP_S", "0")),
            duration_s=float(env.get("PAYBENCH_DURATION_S", "0")),
            drain_s=float(env.get("PAYBENCH_DRAIN_S", "5")),
        )


class Recorder:
    """Collects every request of one process; ``close`` writes the part files.

    Until the trial's clock is set (``begin``) every request is warm-up. Afterwards a
    request belongs to the phase in which its *iteration* started (the caller says so),
    and counts as completed in the window when it ends inside it. Rows are written to disk
    in batches, but never between ``begin`` and the end of the drain unless the buffer is
    huge: compressing a batch blocks the generator's event loop for milliseconds, which
    would show up as latency of the requests due at that moment.
    """

    def __init__(self, settings: RecorderSettings, part: str) -> None:
        self.settings = settings
        self.part = part
        self.t_start: float | None = None
        self.clock: TrialClock | None = None
        self.quiet = False
        self.histogram = new_histogram()
        self.requests = 0
        self.measured = 0
        self.failures = 0
        self.completed_in_window = 0
        self.ok_in_window = 0
        self.iterations_started = 0
        self.iterations_completed = 0
        self.iterations_failed = 0
        self.timed_out = 0
        self.iterations_unfinished = 0
        self.over_ms: float | None = None  # the capacity search's latency objective
        self.over = 0
        self.measured_failed = 0
        self.cpu_warning = False
        self.cpu_max = 0.0
        # raw values; formatted (and the window's latencies put in the histogram) when
        # written, so the hot path of a request stays a tuple append; each request's
        # Server-Timing header, beside its row, is parsed then too
        self._rows: list[Sample] = []
        self._timing: list[str | None] = []
        settings.parts_dir.mkdir(parents=True, exist_ok=True)
        self._samples_path = layout.part_samples(settings.parts_dir, part)
        self._closed = False

    def start(self, t_start: float) -> None:
        """Mark the start of the test (users are being spawned)."""
        if self.t_start is None:
            self.t_start = t_start

    def begin(self, clock: TrialClock) -> None:
        """The schedule starts: phases come from ``clock`` from now on; hold the writes."""
        self.clock = clock
        self.quiet = True

    def phase(self, started: float) -> int:
        """Phase of an iteration (or a request outside any iteration) started at ``started``."""
        return WARMUP if self.clock is None else self.clock.phase(started)

    def record(
        self, *, t: float, name: str, method: str, latency_ms: float, status: int, ok: bool,
        phase: int | None = None, server_timing: str | None = None,
    ) -> None:
        """One finished request; ``t`` is its (intended, in the open model) start, and
        ``server_timing`` its response's Server-Timing header, if any."""
        if self.t_start is None:
            self.start(t)
        phase = self.phase(t) if phase is None else phase
        self.requests += 1
        if not ok:
            self.failures += 1
        if phase == MEASURED:
            self.measured += 1
            self.measured_failed += int(not ok)
            if self.over_ms is not None and latency_ms > self.over_ms:
                self.over += 1
        if self.clock is not None and self.clock.in_window(t + latency_ms / 1000.0):
            self.completed_in_window += 1
            self.ok_in_window += int(ok)
        self._rows.append(Sample(t, name, method, latency_ms, status, ok, phase))
        self._timing.append(server_timing)
        if len(self._rows) >= (HOLD_LIMIT if self.quiet else FLUSH_EVERY):
            self.flush()

    def iteration(self, *, started: float, ended: float, ok: bool) -> None:
        """One finished scenario iteration (all of its requests)."""
        if self.clock is None:
            return
        if self.clock.phase(started) == MEASURED:
            self.iterations_started += 1
            self.iterations_failed += int(not ok)
        if self.clock.in_window(ended):
            self.iterations_completed += 1

    def timed_out_iteration(self, *, pending: Sequence[float], now: float,
                            measured: bool) -> None:
        """An iteration still running when the drain ended: a failed row, named so, for
        each of its requests still without an answer (none if it was between requests)."""
        if measured:
            self.iterations_started += 1
            self.iterations_failed += 1
        for sent in pending:
            self.timed_out += 1
            self.record(t=sent, name=TIMED_OUT, method="-", latency_ms=(now - sent) * 1000.0,
                        status=0, ok=False, phase=MEASURED if measured else WARMUP)

    def unfinished_iteration(self, *, measured: bool) -> None:
        """An iteration cut at the end of the drain between two of its requests: started,
        neither completed nor failed (none of its requests is without an answer)."""
        if measured:
            self.iterations_started += 1
            self.iterations_unfinished += 1

    def settle(self) -> None:
        """The drain is over: writes may block the loop again."""
        self.quiet = False
        self.flush()

    def note_cpu(self, usage: float, *, warning: bool) -> None:
        """Locust's CPU monitor reported ``usage`` percent (``warning`` above its threshold)."""
        self.cpu_max = max(self.cpu_max, usage)
        self.cpu_warning = self.cpu_warning or warning

    def flush(self) -> None:
        """Append buffered rows to this part's gzip member (each flush is one member)."""
        if not self._rows:
            return
        record_value = self.histogram.record_value
        for row in self._rows:
            if row.warmup == MEASURED:
                record_value(to_us(row.latency_ms))
        rows = [row if header is None else Sample._make(
            (*row[:CLIENT_FIELDS], *timing_values(header)))
            for row, header in zip(self._rows, self._timing, strict=True)]
        append_part_samples(self._samples_path, rows)
        self._rows.clear()
        self._timing.clear()

    def close(self, *, role: str | None = None, open_counts: OpenCounts | None = None,
              aborted: str | None = None) -> None:
        """Flush rows and write the histogram and the part summary (idempotent): ``role``
        names the process, ``open_counts`` are its open-model schedule's counters, and
        ``aborted`` says why it stopped its trial early."""
        if self._closed:
            return
        self._closed = True
        self.flush()
        dir_ = self.settings.parts_dir
        if self.measured:
            layout.part_hdr(dir_, self.part).write_bytes(self.histogram.encode())
        clock = self.clock
        write_part_summary(dir_, PartDoc(
            part=self.part,
            pid=os.getpid(),
            t_start=self.t_start,
            t0=clock.t0 if clock else None,
            window_start=clock.window_start if clock else None,
            window_end=clock.window_end if clock else None,
            closed_at=time.time(),
            requests=self.requests,
            measured=self.measured,
            failures=self.failures,
            completed_in_window=self.completed_in_window,
            ok_in_window=self.ok_in_window,
            iterations_started=self.iterations_started,
            iterations_completed=self.iterations_completed,
            iterations_failed=self.iterations_failed,
            iterations_unfinished=self.iterations_unfinished,
            timed_out=self.timed_out,
            cpu_warning=self.cpu_warning,
            cpu_max=self.cpu_max,
            role=role,
            open=open_counts,
            aborted=aborted,
        ))
