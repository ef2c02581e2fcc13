"""Loading run directories: the fixture's contents, and clear errors for damaged runs."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reports import RunDirError, load_run
from reports.analysis import analyse_run, analyse_trial


def test_load_fixture_run(small_run: Path) -> None:
    """The fixture has 6 trials in schedule order, samples with warm-up rows, HDR and CPU."""
    run = load_run(small_run)
    assert run.label == "small"
    assert run.target_names() == ["engine", "legacy"]
    assert [t.order for t in run.trials] == list(range(6))
    assert sorted(t.dir_name for t in run.trials) == [
        "engine-1", "engine-2", "engine-3", "legacy-1", "legacy-2", "legacy-3"]
    trial = run.trials[0]
    assert trial.hdr is not None
    assert trial.resources is not None
    assert not trial.problems
    assert (trial.samples["warmup"] == 1).any()
    assert len(trial.measured) == int((trial.samples["warmup"] == 0).sum())
    assert str(trial.samples["name"].dtype) == "category"


def test_warmup_rows_excluded_from_trial_stats(small_run: Path) -> None:
    """A trial's request count is its post-warm-up rows only."""
    run = load_run(small_run)
    results = analyse_run(run)
    for trial, info in zip(run.trials, results["trials"], strict=True):
        assert info["requests"] == len(trial.measured)
        assert info["warmup_requests"] == int((trial.samples["warmup"] == 1).sum())


def test_missing_run_dir_raises(tmp_path: Path) -> None:
    """A path that does not exist is a RunDirError naming it."""
    with pytest.raises(RunDirError, match="does not exist"):
        load_run(tmp_path / "nope")


def test_missing_config_raises(tmp_path: Path) -> None:
    """A directory without config.json is not a run."""
    with pytest.raises(RunDirError, match=r"config\.json: missing"):
        load_run(tmp_path)


def test_corrupt_config_raises(small_run: Path) -> None:
    """Unparsable config.json is a RunDirError, not a JSON traceback."""
    (small_run / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RunDirError, match="corrupt JSON"):
        load_run(small_run)


def test_truncated_samples_mark_trial_invalid_and_run_incomplete(small_run: Path) -> None:
    """A truncated samples.csv.gz is reported on its trial, and the run is incomplete."""
    path = small_run / "trials" / "engine-2" / "samples.csv.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    run = load_run(small_run)
    trial = next(t for t in run.trials if t.dir_name == "engine-2")
    assert any("samples.csv.gz" in p for p in trial.problems)
    results = analyse_run(run)
    info = next(t for t in results["trials"] if t["trial"] == "engine-2")
    assert not info["valid"]
    assert not results["complete"]


def test_missing_trial_json_is_a_problem_not_a_crash(small_run: Path) -> None:
    """Without trial.json the target and index come from the directory name."""
    (small_run / "trials" / "legacy-3" / "trial.json").unlink()
    run = load_run(small_run)
    trial = next(t for t in run.trials if t.dir_name == "legacy-3")
    assert (trial.target, trial.index) == ("legacy", 3)
    assert any("trial.json" in p for p in trial.problems)


def test_wrong_columns_are_reported(small_run: Path) -> None:
    """A samples file missing required columns is named with the columns."""
    path = small_run / "trials" / "engine-1" / "samples.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("t,latency_ms\n1.0,2.0\n")
    trial = next(t for t in load_run(small_run).trials if t.dir_name == "engine-1")
    assert any("missing columns" in p for p in trial.problems)


def test_interrupted_run_is_incomplete(synth: Callable[..., Path]) -> None:
    """A run cut after 3 of 6 trials says how many trials are present."""
    results = analyse_run(load_run(synth(incomplete_after=3)))
    assert not results["complete"]
    assert any("3 of 6" in r for r in results["incomplete_reasons"])


def test_missing_planned_trial_is_named(small_run: Path) -> None:
    """A trial of config.json's schedule that has no directory makes the run incomplete."""
    shutil.rmtree(small_run / "trials" / "legacy-3")
    results = analyse_run(load_run(small_run))
    assert not results["complete"]
    assert "5 of 6 planned trials present (missing legacy-3)" in results["incomplete_reasons"]


def test_runner_marked_run_incomplete(small_run: Path) -> None:
    """config.json's complete=false and its reason are carried into the results."""
    config = json.loads((small_run / "config.json").read_text(encoding="utf-8"))
    config.update(complete=False, incomplete_reason="stack crashed")
    (small_run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    results = analyse_run(load_run(small_run))
    assert results["incomplete_reasons"] == ["run stopped early: stack crashed"]


def test_samples_after_the_window_are_not_counted(small_run: Path) -> None:
    """Only requests started inside [start + warm-up, start + warm-up + duration] count."""
    path = small_run / "trials" / "engine-1" / "trial.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["duration_s"] = meta["duration_s"] / 2
    path.write_text(json.dumps(meta), encoding="utf-8")
    run = load_run(small_run)
    info = analyse_trial(next(t for t in run.trials if t.dir_name == "engine-1"))
    assert info["window_s"] == meta["duration_s"]
    full = next(t for t in run.trials if t.dir_name == "engine-1").measured
    assert info["requests"] < 0.6 * len(full)
    assert info["throughput_rps"] > 150


def test_older_layout_reads_like_todays(small_run: Path, make_run: Any, tmp_path: Path) -> None:
    """The committed fixture, written before every file had one writer (sparser trial.json
    and config.json, three-decimal latencies), gives the same figures as the same run
    written by today's writers (CPU aside: resources.csv now has the sampler's precision)."""
    today = make_run.make_run(tmp_path / "today", make_run.RunSpec(
        invalid={"legacy-2": "locust CPU warning fired (load generator above 90% CPU)"}))
    old, new = analyse_run(load_run(small_run)), analyse_run(load_run(today))

    def without_cpu(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_cpu(v) for k, v in value.items() if "cpu" not in k}
        if isinstance(value, list):
            return [without_cpu(v) for v in value]
        return value

    for key in ("trials", "targets", "comparisons", "verdict", "method", "incomplete_reasons"):
        assert without_cpu(old[key]) == without_cpu(new[key]), key
    assert old["run_dir"] != new["run_dir"]
