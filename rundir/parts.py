"""The part files one generator process leaves in a trial's ``.parts/`` folder: its sample
rows (``rundir.samples``), its histogram, and ``<part>.json``, the counters written here
and added up by ``loadtests.merge`` into ``trial.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rundir import layout
from rundir.jsondoc import Doc, read_object


@dataclass(frozen=True, kw_only=True)
class OpenCounts(Doc):
    """One process's open-model schedule: its slots, and those started late or dropped."""

    scheduled: int | None = None  # measured slots
    late_starts: int | None = None
    dropped_starts: int | None = None
    late_queued: int | None = None  # of late_starts: no user was free
    dropped_queued: int | None = None
    max_lag_ms: float | None = None  # worst lag of a slot that found a free user


@dataclass(frozen=True, kw_only=True)
class PartDoc(Doc):
    """The content of ``.parts/<part>.json``: one generator process's counters."""

    part: str | None = None
    pid: int | None = None
    t_start: float | None = None  # its first user started
    t0: float | None = None  # the trial's schedule started (shared by every process)
    window_start: float | None = None
    window_end: float | None = None
    closed_at: float | None = None
    requests: int | None = None
    measured: int | None = None
    failures: int | None = None
    completed_in_window: int | None = None
    ok_in_window: int | None = None
    iterations_started: int | None = None
    iterations_completed: int | None = None
    iterations_failed: int | None = None
    iterations_unfinished: int | None = None
    timed_out: int | None = None
    cpu_warning: bool | None = None
    cpu_max: float | None = None
    role: str | None = None  # "master", "worker<n>" or "local"
    open: OpenCounts | None = None  # open model only
    aborted: str | None = None  # why the process stopped its trial early

    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"role", "open", "aborted"})


def write_part_summary(parts_dir: Path, doc: PartDoc) -> None:
    """Write ``<part>.json`` atomically (the merge may run while a process is killed)."""
    path = layout.part_summary(parts_dir, doc.part or "part")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc.to_json(), indent=1))
    tmp.replace(path)


def read_part_summaries(parts_dir: Path) -> list[tuple[Path, PartDoc]]:
    """Every ``<part>.json`` of a parts folder, in name order; ``DocError`` for a corrupt one."""
    return [(path, PartDoc.from_json(read_object(path)))
            for path in sorted(parts_dir.glob(f"*{layout.PART_SUMMARY_SUFFIX}"))]
