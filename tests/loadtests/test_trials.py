"""Trial schedule, reset before each trial, the run-directory layout and validity."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import signal
import threading
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from loadtests.config import resolve
from loadtests.errors import RunInterrupted
from loadtests.trials import TrialRunner, interleave, plan_run, plan_sweep
from paybench import cli
from reports import format as fmt
from reports import render_run
from rundir.samples import SAMPLE_HEADER
from tests.loadtests.conftest import RecordingStack, ping_config
from tests.loadtests.servers import stall_server

HERE = Path(__file__).resolve().parent


def test_interleave_orders() -> None:
    """alternate is A B A B, abba reverses every other round, shuffle is seeded per round."""
    assert interleave(["a", "b"], 3, "alternate", 1) == ["a", "b", "a", "b", "a", "b"]
    assert interleave(["a", "b"], 2, "abba", 1) == ["a", "b", "b", "a"]
    shuffled = interleave(["a", "b", "c"], 4, "shuffle", 5)
    assert shuffled == interleave(["a", "b", "c"], 4, "shuffle", 5)
    for r in range(4):
        assert sorted(shuffled[3 * r: 3 * r + 3]) == ["a", "b", "c"]


def test_plan_run_numbers_trials_per_target(tmp_path: Path) -> None:
    """Each target's trials are numbered 1..n and the global order is 0..N-1."""
    cfg = resolve({"trials": "3", "targets": "legacy,engine"}, env={}, cwd=tmp_path)
    plans = plan_run(cfg)
    assert [p.name for p in plans] == [
        "legacy-1", "engine-1", "legacy-2", "engine-2", "legacy-3", "engine-3"]
    assert [p.order for p in plans] == list(range(6))


def test_plan_sweep_steps_in_stairs(tmp_path: Path) -> None:
    """A rate sweep runs increasing steps, each over every target, marked step and offered."""
    cfg = resolve({"sweep_rates": "10,20", "trials": "5", "targets": "legacy,engine"}, env={},
                  cwd=tmp_path)
    plans = plan_sweep(cfg)
    assert [(p.step, p.offered, p.target) for p in plans] == [
        (0, 10.0, "legacy"), (0, 10.0, "engine"), (1, 20.0, "legacy"), (1, 20.0, "engine")]
    assert all(p.rate == p.offered for p in plans)
    deeper = plan_sweep(resolve({"sweep_rates": "10,20", "step_trials": "2",
                                 "targets": "legacy,engine"}, env={}, cwd=tmp_path))
    assert [p.step for p in deeper] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_trials_are_interleaved_and_reset_first(tmp_path: Path) -> None:
    """Every trial is preceded by reset of its target and writes the spec'd files."""
    cfg = ping_config(tmp_path, targets="a,b", trials="2", duration_s="1", warmup_s="0.5",
                      target_urls="a=http://x.invalid,b=http://y.invalid", api_keys="k",
                      think_time_s="0.05")
    stack = RecordingStack()
    with stall_server() as url:
        runner = TrialRunner(tmp_path, cfg, urls={"a": url, "b": url}, api_keys={},
                             stack=stack, base_env=dict(os.environ), log=lambda _l: None)
        trials = runner.run(plan_run(cfg))
    assert [c for c in stack.calls if c[0] == "reset"] == [
        ("reset", "a"), ("reset", "b"), ("reset", "a"), ("reset", "b")]
    assert [(t.target, t.index, t.order) for t in trials] == [
        ("a", 1, 0), ("b", 1, 1), ("a", 2, 2), ("b", 2, 3)]
    trial_dir = tmp_path / "trials" / "b-2"
    meta = json.loads((trial_dir / "trial.json").read_text())
    assert meta["valid"]
    assert meta["complete"]
    assert meta["model"] == "closed"
    for name in ("samples.csv.gz", "latency.hdr", "resources.csv", "locust"):
        assert (trial_dir / name).exists(), name
    assert (trial_dir / "locust" / "locust_stats.csv").exists()
    with gzip.open(trial_dir / "samples.csv.gz", "rt") as fh:
        header = fh.readline().strip().split(",")
        rows = [line.split(",") for line in fh]
    assert header == list(SAMPLE_HEADER)
    measured = [r for r in rows if r[6].strip() == "0"]
    assert {r[6].strip() for r in rows} == {"0", "1"}
    hist = HdrHistogram.decode((trial_dir / "latency.hdr").read_bytes())
    assert hist.get_total_count() == len(measured) == meta["requests_measured"]
    assert not (trial_dir / ".parts").exists()


def test_cpu_warning_marks_the_trial_invalid(tmp_path: Path) -> None:
    """A Locust cpu_warning during a trial makes it invalid with the reason recorded."""
    cfg = ping_config(tmp_path, locustfile=str(HERE / "cpu_warning_locustfile.py"),
                      duration_s="1.5", warmup_s="0.5")
    with stall_server() as url:
        runner = TrialRunner(tmp_path, cfg, urls={"legacy": url}, api_keys={}, stack=None,
                             base_env=dict(os.environ), log=lambda _l: None)
        trial = runner.run(plan_run(cfg)[:1])[0]
    assert trial.cpu_warning is True
    assert trial.valid is False
    assert any("cpu_warning" in r for r in trial.invalid_reasons or ())


def test_several_generator_processes_share_the_schedule(tmp_path: Path) -> None:
    """With --processes 2 both workers record, and their slots add up to rate x duration."""
    cfg = ping_config(tmp_path, rate="60", users="30", processes="2", duration_s="2",
                      warmup_s="1")
    with stall_server() as url:
        runner = TrialRunner(tmp_path, cfg, urls={"legacy": url}, api_keys={}, stack=None,
                             base_env=dict(os.environ), log=lambda _l: None)
        trial = runner.run(plan_run(cfg)[:1])[0]
    assert trial.processes == 2
    assert abs((trial.scheduled_starts or 0) - 120) <= 2
    assert trial.dropped_starts == 0
    with gzip.open(tmp_path / "trials" / "legacy-1" / "samples.csv.gz", "rt") as fh:
        intended = sorted(float(line.split(",")[0]) for line in list(fh)[1:])
    gaps = [b - a for a, b in itertools.pairwise(intended)]
    # Workers interleave their slots: consecutive intended starts are 1/rate apart.
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(1 / 60, abs=0.004)


def test_console_line_shows_the_report_figures_of_the_trial(tmp_path: Path) -> None:
    """The line printed after a trial gives the requests, completed requests/s and errors
    that results.json holds for that trial."""
    cfg = ping_config(tmp_path, duration_s="1", warmup_s="0.5", think_time_s="0.01")
    lines: list[str] = []
    with stall_server() as url:
        runner = TrialRunner(tmp_path, cfg, urls={"legacy": url}, api_keys={}, stack=None,
                             base_env=dict(os.environ), log=lines.append)
        runner.run(plan_run(cfg)[:1])
    (tmp_path / "config.json").write_text('{"label": "console"}')
    results = render_run(tmp_path).results
    (trial,) = results["trials"]
    shown = re.search(r"(\d+) requests measured, ([\d.,]+) requests/s completed, (\d+) errors "
                      r"\(([\d.]+%)\)", lines[-1])
    assert shown is not None, lines
    assert int(shown.group(1)) == trial["requests"] > 0
    assert shown.group(2) == fmt.num(trial["throughput_rps"])
    assert int(shown.group(3)) == sum(trial["errors_by_status"].values())
    assert shown.group(4) == fmt.pct(trial["error_ratio"])


def test_sighup_during_a_trial_is_named(tmp_path: Path) -> None:
    """A SIGHUP in the middle of a trial stops it like Ctrl-C: the trial is kept, incomplete,
    and the reason names SIGHUP."""
    cfg = ping_config(tmp_path, duration_s="6", warmup_s="0.5", think_time_s="0.01")
    saved = {sig: signal.getsignal(sig) for sig in cli.STOP_SIGNALS}
    timer = threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGHUP))
    try:
        cli._install_stop_signals()
        with stall_server() as url:
            runner = TrialRunner(tmp_path, cfg, urls={"legacy": url}, api_keys={}, stack=None,
                                 base_env=dict(os.environ), log=lambda _l: None)
            timer.start()
            with pytest.raises(RunInterrupted) as exc:
                runner.run(plan_run(cfg)[:1])
    finally:
        timer.cancel()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert exc.value.signal_name == "SIGHUP"
    meta = json.loads((tmp_path / "trials" / "legacy-1" / "trial.json").read_text())
    assert meta["complete"] is False
    assert "incomplete: interrupted by SIGHUP" in meta["invalid_reasons"]
