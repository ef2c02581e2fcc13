"""The docs' table of every knob is the one the code generates."""

from __future__ import annotations

from pathlib import Path

from loadtests.config import KNOBS, QUICK, SETTINGS, RunConfig, env_name
from loadtests.options import knob_table, readme_table, show_default

README = Path(__file__).resolve().parents[2] / "loadtests" / "README.md"


def test_readme_knob_table_matches_the_code() -> None:
    """loadtests/README.md's table is knob_table() (regenerate it with
    `python -m loadtests.options --write loadtests/README.md`)."""
    assert readme_table(README.read_text(encoding="utf-8")) == knob_table()


def test_knob_table_has_every_knob_with_its_default() -> None:
    """Each knob has a row with its environment variable, its default and its help."""
    table = knob_table()
    defaults = RunConfig()
    for knob in KNOBS:
        (row,) = [r for r in table.splitlines() if f"`{env_name(knob)}`" in r]
        shown = show_default(getattr(defaults, knob))
        assert (f"| `{shown}` |" if shown else "| - |") in row
        assert SETTINGS[knob].help in row
    quick = next(r for r in table.splitlines() if r.startswith("| `--quick`"))
    assert f"{QUICK['search_duration_s']:g} s" in quick
