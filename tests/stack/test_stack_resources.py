"""The resource sampler writes sane per-process rows and survives exiting processes."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import psutil

from stack.resources import COLUMNS, ResourceSampler

BUSY_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
end = time.time() + 60
while time.time() < end:
    sum(range(10000))
"""


def test_sampler_rows_are_sane(tmp_path: Path) -> None:
    """Rows carry role, pid, non-decreasing CPU and positive RSS, children included."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY_PARENT])
    short = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    path = tmp_path / "resources.csv"
    try:
        with ResourceSampler([("engine", busy.pid), ("legacy", short.pid)], path,
                             interval_s=0.1):
            time.sleep(1.0)
    finally:
        # The busy parent's child would outlive it (re-parented to PID 1): both go.
        children = psutil.Process(busy.pid).children(recursive=True)
        for child in children:
            child.kill()
        busy.kill()
        busy.wait()
        psutil.wait_procs(children, timeout=10)
        short.wait()
    with path.open() as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == COLUMNS
        rows = list(reader)
    engine = [r for r in rows if r[1] == "engine"]
    assert {int(r[2]) for r in engine} - {busy.pid}, "the child of the busy process is sampled"
    own = [(float(r[0]), float(r[3]), int(r[4])) for r in engine if int(r[2]) == busy.pid]
    assert len(own) >= 5
    times, cpu, rss = zip(*own, strict=True)
    assert list(times) == sorted(times)
    assert list(cpu) == sorted(cpu)
    assert cpu[-1] - cpu[0] > 0.1, "a busy loop burns CPU"
    assert min(rss) > 1_000_000
    legacy = [r for r in rows if r[1] == "legacy"]
    assert 1 <= len(legacy) < len(own), "the exited process stops producing rows"


def test_sampler_accepts_a_callable_and_missing_pids(tmp_path: Path) -> None:
    """A callable source is re-read each tick; a pid that does not exist is skipped."""
    calls: list[int] = []

    def source() -> list[tuple[str, int]]:
        calls.append(1)
        return [("locust", 2**22 + 12345), ("harness", __import__("os").getpid())]

    path = tmp_path / "r.csv"
    sampler = ResourceSampler(source, path, interval_s=0.05)
    sampler.start()
    time.sleep(0.3)
    sampler.stop()
    assert sampler.error is None
    assert len(calls) >= 3
    rows = path.read_text().splitlines()[1:]
    assert rows
    assert all(",harness," in r for r in rows)
