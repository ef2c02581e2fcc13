"""CPU and memory of every process of a trial, sampled into resources.csv.

Rows are ``rundir.samples.Resource`` (``t, role, pid, cpu_s, rss_bytes``): ``cpu_s`` is
the cumulative user+system CPU time of that one process (children get rows of their own, so
nothing is counted twice), which lets the report compute CPU seconds per
1,000 requests from the first and last sample of each pid.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import psutil

from rundir.samples import RESOURCE_HEADER, Resource, ResourceWriter
from stack.processes import with_descendants

COLUMNS = RESOURCE_HEADER

ProcessList = Sequence[tuple[str, int]] | Callable[[], Sequence[tuple[str, int]]]


class ResourceSampler(threading.Thread):
    """Samples (role, pid) pairs, and their descendants, every ``interval_s``.

    ``processes`` is a list, or a callable re-read at every tick so that
    workers a server forks later (gunicorn respawns, PostgreSQL backends) are
    picked up. Processes that exit simply stop producing rows.
    """

    def __init__(
        self,
        processes: ProcessList,
        path: Path,
        *,
        interval_s: float = 0.5,
        include_children: bool = True,
    ) -> None:
        super().__init__(name="resource-sampler", daemon=True)
        self._source = processes
        self.path = path
        self.interval_s = interval_s
        self.include_children = include_children
        self._stop_event = threading.Event()
        self._cache: dict[int, psutil.Process] = {}
        self.rows_written = 0
        self.error: BaseException | None = None

    def __enter__(self) -> ResourceSampler:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after one last sample, so every pid has an end value."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout_s)

    def run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.path.open("w", newline="") as fh:
                writer = ResourceWriter(fh)
                while True:
                    stopping = self._stop_event.is_set()
                    rows = self.sample()
                    writer.write(rows)
                    fh.flush()
                    self.rows_written += len(rows)
                    if stopping:
                        return
                    # Wakes early on stop(), then loops once more for the final sample.
                    self._stop_event.wait(self.interval_s)
        except Exception as exc:  # noqa: BLE001 - a sampler must not kill a trial (kept for caller)
            self.error = exc

    def _targets(self) -> list[tuple[str, int]]:
        source = self._source
        pairs = source() if callable(source) else source
        return list(pairs)

    def _process(self, pid: int) -> psutil.Process | None:
        proc = self._cache.get(pid)
        if proc is not None and proc.is_running():  # is_running also guards against pid reuse
            return proc
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            self._cache.pop(pid, None)
            return None
        self._cache[pid] = proc
        return proc

    def sample(self) -> list[Resource]:
        """One row per live process right now (roles of the first listing win)."""
        now = time.time()
        rows: list[Resource] = []
        seen: set[int] = set()
        targets = self._targets()
        if self.include_children:
            targets = with_descendants(targets)
        for role, pid in targets:
            if pid in seen:
                continue
            seen.add(pid)
            member = self._process(pid)
            if member is None:
                continue
            try:
                with member.oneshot():
                    if member.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped
                        continue
                    cpu = member.cpu_times()
                    rss = member.memory_info().rss
            except psutil.Error:  # exited between listing and reading
                continue
            rows.append(Resource(now, role, pid, cpu.user + cpu.system, rss))
        return rows
