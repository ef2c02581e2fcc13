"""Names in a run directory: run folders and trial folders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rundir import layout


def test_trial_names_round_trip() -> None:
    """A trial folder name gives back its target and index; other names give None."""
    assert layout.trial_name("legacy2", 10) == "legacy2-10"
    assert layout.parse_trial_name("legacy2-10") == ("legacy2", 10)
    assert layout.parse_trial_name("my-target-3") == ("my-target", 3)
    assert layout.parse_trial_name("notes") is None


def test_run_folders_are_never_reused(tmp_path: Path) -> None:
    """Two runs in the same second get <stamp>_<label> and <stamp>_<label>-2."""
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    first = layout.create_run_dir(tmp_path, "quick", now)
    second = layout.create_run_dir(tmp_path, "quick", now)
    assert (first.name, second.name) == ("2026-11-26T12-00-00_quick",
                                         "2026-11-26T12-00-00_quick-2")
