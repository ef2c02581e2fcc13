"""Full-precision request recording inside a load-generator process.

Locust rounds response times to about two significant digits before bucketing them, so
its percentiles cannot be trusted in the tail. The recorder keeps every request instead:
one CSV row per request (gzip, flushed in batches so a crash loses little) and an
HdrHistogram of the post-warm-up latencies in microseconds. Each generator process writes
its own *part* files; :mod:`loadtests.merge` joins the parts of a trial afterwards.

This module does not import Locust: the locustfile wires these methods to Locust events.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

HDR_LOWEST_US = 1
HDR_HIGHEST_US = 60_000_000
HDR_DIGITS = 3
SAMPLE_COLUMNS = ("t", "name", "method", "latency_ms", "status", "ok", "warmup")
FLUSH_EVERY = 2000


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
        )


class Recorder:
    """Collects every request of one process; ``close`` writes the part files."""

    def __init__(self, settings: RecorderSettings, part: str) -> None:
        self.settings = settings
        self.part = part
        self.t_start: float | None = None
        self.histogram = new_histogram()
        self.requests = 0
        self.measured = 0
        self.failures = 0
        self.cpu_warning = False
        self.cpu_max = 0.0
        self._rows: list[tuple[str, str, str, str, int, int, int]] = []
        settings.parts_dir.mkdir(parents=True, exist_ok=True)
        self._samples_path = settings.parts_dir / f"{part}.samples.csv.gz"
        self._closed = False

    @property
    def measure_from(self) -> float:
        """Epoch second at which the warm-up ends (infinite before the test started)."""
        if self.t_start is None:
            return float("inf")
        return self.t_start + self.settings.warmup_s

    @property
    def measure_until(self) -> float:
        """Epoch second at which the measured window ends."""
        return self.measure_from + self.settings.duration_s

    def start(self, t_start: float) -> None:
        """Mark the start of the test (the warm-up window starts here)."""
        if self.t_start is None:
            self.t_start = t_start

    def record(
        self, *, t: float, name: str, method: str, latency_ms: float, status: int, ok: bool
    ) -> None:
        """One finished request; ``t`` is its (intended, in the open model) start."""
        if self.t_start is None:
            self.start(t)
        warmup = t < self.measure_from
        self.requests += 1
        if not ok:
            self.failures += 1
        if not warmup:
            self.measured += 1
            self.histogram.record_value(to_us(latency_ms))
        self._rows.append(
            (f"{t:.6f}", name, method, f"{latency_ms:.4f}", status, int(ok), int(warmup))
        )
        if len(self._rows) >= FLUSH_EVERY:
            self.flush()

    def note_cpu(self, usage: float, *, warning: bool) -> None:
        """Locust's CPU monitor reported ``usage`` percent (``warning`` above its threshold)."""
        self.cpu_max = max(self.cpu_max, usage)
        self.cpu_warning = self.cpu_warning or warning

    def flush(self) -> None:
        """Append buffered rows to this part's gzip member (each flush is one member)."""
        if not self._rows:
            return
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(self._rows)
        with gzip.open(self._samples_path, "at", encoding="utf-8", compresslevel=3) as fh:
            fh.write(buffer.getvalue())
        self._rows.clear()

    def close(self, extra: dict[str, Any] | None = None) -> None:
        """Flush rows and write the histogram and the part summary (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.flush()
        dir_ = self.settings.parts_dir
        if self.measured:
            (dir_ / f"{self.part}.hdr").write_bytes(self.histogram.encode())
        summary = {
            "part": self.part,
            "pid": os.getpid(),
            "t_start": self.t_start,
            "closed_at": time.time(),
            "requests": self.requests,
            "measured": self.measured,
            "failures": self.failures,
            "cpu_warning": self.cpu_warning,
            "cpu_max": self.cpu_max,
            **(extra or {}),
        }
        tmp = dir_ / f"{self.part}.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1))
        tmp.replace(dir_ / f"{self.part}.json")
