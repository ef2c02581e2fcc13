"""Gate parsing and evaluation, run comparison, and the CLI command exit codes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from loadtests.config import RunConfig
from reports import GateSpecError, parse_regression, parse_slo
from reports.cli_commands import compare_command, report_command
from reports.compare import KNOBS_NOT_LOAD, compare_runs, format_comparison
from reports.gates import evaluate_regression, evaluate_slo


def test_parse_slo_units() -> None:
    """Latency units convert to ms, percentages to ratios, throughput stays req/s."""
    gates = parse_slo("p99<500ms, p50<=0.1s,errors<1%,throughput>=100rps,p999<900us")
    assert [(g.metric, g.op, g.threshold) for g in gates] == [
        ("p99_ms", "<", 500.0), ("p50_ms", "<=", 100.0), ("error_ratio", "<", 0.01),
        ("throughput_rps", ">=", 100.0), ("p999_ms", "<", 0.9)]


def test_parse_regression() -> None:
    """'p99:10%,throughput:5%' gives fractions and the direction that counts as worse."""
    gates = parse_regression("p99:10%,throughput:5%")
    assert [(g.metric, g.max_change, g.higher_is_better) for g in gates] == [
        ("p99_ms", 0.10, False), ("throughput_rps", 0.05, True)]


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty gate"),
    ("p99<", "expected METRIC<VALUE"),
    ("p98<5ms", "unknown metric 'p98'"),
    ("p99<5%", "latency needs ms"),
    ("errors<5ms", "errors need %"),
    ("errors<5", "error ratio above 1"),
    ("p99<5,,errors<1%", "empty gate"),
    ("capacity>100", "only a regression gate"),
])
def test_bad_slo_specs(spec: str, message: str) -> None:
    """Malformed SLO specs raise a ValueError that says what is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_slo(spec)


@pytest.mark.parametrize(("spec", "message"), [
    ("p99:10", "expected METRIC:PERCENT%"),
    ("p99<10%", "expected METRIC:PERCENT%"),
    ("latency:5%", "unknown metric"),
])
def test_bad_regression_specs(spec: str, message: str) -> None:
    """Malformed regression specs raise GateSpecError, a ValueError."""
    with pytest.raises(GateSpecError, match=message):
        parse_regression(spec)


def test_evaluate_slo_on_results() -> None:
    """Each gate is checked on each target's median; a missing value fails."""
    results = {"targets": {
        "a": {"summary": {"p99_ms": {"median": 120.0}, "error_ratio": {"median": 0.02}}},
        "b": {"summary": {"p99_ms": {"median": None}, "error_ratio": {"median": 0.0}}},
    }}
    got = {(g.target, g.spec): g.passed for g in
           evaluate_slo(results, parse_slo("p99<200ms,errors<1%"))}
    assert got == {("a", "p99<200ms"): True, ("a", "errors<1%"): False,
                   ("b", "p99<200ms"): False, ("b", "errors<1%"): True}


def test_evaluate_regression_directions() -> None:
    """Throughput falling and p99 rising beyond the limit trip; improvements pass."""
    def sig(change: float) -> dict[str, object]:
        return {"change": change, "significant": True}

    changes = {"engine": {"throughput_rps": sig(-0.08), "p99_ms": sig(-0.30)},
               "legacy": {"throughput_rps": sig(0.20), "p99_ms": sig(0.15)}}
    got = {(g.target, g.spec): g.passed for g in
           evaluate_regression(changes, parse_regression("throughput:5%,p99:10%"))}
    assert got == {("engine", "throughput:5%"): False, ("engine", "p99:10%"): True,
                   ("legacy", "throughput:5%"): True, ("legacy", "p99:10%"): False}


def test_regression_gates_trip_only_on_significant_changes() -> None:
    """A change beyond the limit that the test cannot tell from noise is reported and not
    gated, unless gating on the median change alone is asked for."""
    changes = {"engine": {"p99_ms": {"change": 0.4, "significant": False, "p_value": 0.31,
                                     "significance": "not significant"}}}
    gates = parse_regression("p99:10%")
    (lenient,) = evaluate_regression(changes, gates)
    assert lenient.passed
    assert lenient.detail == "p99_ms 40.0% worse (limit 10%), but not significant (p=0.31): " \
        "not gated"
    (strict,) = evaluate_regression(changes, gates, significant_only=False)
    assert not strict.passed


def test_compare_run_with_itself_passes(small_run: Path) -> None:
    """A run compared with itself changes by 0% everywhere and passes every gate."""
    cmp = compare_runs(small_run, small_run, fail_on="p99:1%,throughput:1%,errors:1%")
    assert cmp.passed
    assert cmp.changes["engine"]["p99_ms"]["change"] == pytest.approx(0.0)
    assert not cmp.changes["engine"]["p99_ms"]["significant"]
    assert "~" in format_comparison(cmp)


def test_compare_detects_slower_run(synth: Callable[..., Path], make_run: object) -> None:
    """A run whose engine is twice as slow is significantly worse and trips the gate."""
    module = make_run
    profiles = dict(module.PROFILES)  # type: ignore[attr-defined]
    base = synth("a", trials=5, duration_s=3.0, warmup_s=1.0)
    slow_engine = module.TargetProfile(  # type: ignore[attr-defined]
        rps=90.0, median_ms=36.0, sigma=0.5, error_ratio=0.002, cpu_ms_per_request=3.2)
    slow = synth("b", trials=5, duration_s=3.0, warmup_s=1.0,
                 profiles={**profiles, "engine": slow_engine}, seed=8)
    cmp = compare_runs(base, slow, fail_on="throughput:10%")
    engine = cmp.changes["engine"]
    assert engine["throughput_rps"]["change"] < -0.3
    assert engine["throughput_rps"]["significant"]
    assert engine["p50_ms"]["change"] > 0.5
    assert not cmp.passed
    assert any(g.target == "engine" and not g.passed for g in cmp.gates)


def test_report_command_exit_codes(small_run: Path, tmp_path: Path) -> None:
    """report: 0 when fine, 1 when an SLO gate fails, 2 for a bad dir or spec."""
    assert report_command([str(small_run)]) == 0
    assert (small_run / "report.html").exists()
    assert report_command([str(small_run), "--slo", "p99<1ms"]) == 1
    assert report_command([str(tmp_path / "missing")]) == 2
    assert report_command([str(small_run), "--slo", "p99<<1"]) == 2
    assert report_command([]) == 2


def test_compare_command_exit_codes(small_run: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """compare: 0 when no gate trips, 1 when one does, 2 for bad input."""
    other = Path(shutil.copytree(small_run, tmp_path / "other"))
    out_json = tmp_path / "cmp.json"
    assert compare_command([str(small_run), str(other), "--fail-on", "p99:5%",
                            "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text(encoding="utf-8"))["passed"] is True
    assert compare_command([str(small_run), str(other), "--slo", "p99<10ms"]) == 1
    assert compare_command([str(small_run), str(tmp_path / "nope")]) == 2
    assert compare_command([str(small_run), str(other), "--fail-on", "p99<5%"]) == 2
    err = capsys.readouterr().err
    assert "bad gate 'p99<5%'" in err
    assert "does not exist" in err


def test_compare_warns_when_machines_differ(small_run: Path, tmp_path: Path) -> None:
    """Runs from different CPUs or PostgreSQL versions are compared with a warning."""
    other = Path(shutil.copytree(small_run, tmp_path / "other"))
    env_path = other / "environment.json"
    env = json.loads(env_path.read_text(encoding="utf-8"))
    env["machine"]["cpu_model"] = "Another CPU"
    env["servers"]["postgres"]["version"] = "17.0"
    env_path.write_text(json.dumps(env), encoding="utf-8")
    cmp = compare_runs(small_run, other)
    warning = " ".join(cmp.warnings)
    assert "machine.cpu_model: Synthetic CPU @ 2.4GHz -> Another CPU" in warning
    assert "servers.postgres.version" in warning
    assert cmp.passed


def test_compare_sweeps_reports_capacity(sweep_run: Path) -> None:
    """Two sweeps compare max sustainable throughput, gated by 'capacity:N%'."""
    cmp = compare_runs(sweep_run, sweep_run, fail_on="capacity:5%")
    entry = cmp.changes["legacy"]["max_sustainable_rps"]
    assert entry["change"] == pytest.approx(0.0)
    assert entry["significance"] == "single sweep"
    assert cmp.passed
    assert "single sweep" in format_comparison(cmp)


def test_compare_of_different_load_warns_and_refuses_to_gate(
        small_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Runs made with 20 and 8 users are compared with a warning naming the setting; a
    regression gate on them exits 2 unless --allow-config-mismatch."""
    other = Path(shutil.copytree(small_run, tmp_path / "other"))
    config = json.loads((other / "config.json").read_text(encoding="utf-8"))
    config["load"]["users"] = 8
    config["targets"]["engine"]["workers"] = 4
    (other / "config.json").write_text(json.dumps(config), encoding="utf-8")
    cmp = compare_runs(small_run, other)
    assert cmp.config_differences == ["load.users: 20 -> 8", "targets.engine.workers: 2 -> 4"]
    assert any("different load settings" in w and "load.users: 20 -> 8" in w
               for w in cmp.warnings)
    assert cmp.refused is None
    gated = compare_runs(small_run, other, fail_on="p99:1%")
    assert gated.refused is not None
    assert gated.gates == []
    assert compare_command([str(small_run), str(other)]) == 0
    assert "warning: the runs were made with different load settings" in capsys.readouterr().out
    assert compare_command([str(small_run), str(other), "--fail-on", "p99:1%"]) == 2
    assert "refusing to gate" in capsys.readouterr().err
    assert compare_command([str(small_run), str(other), "--fail-on", "p99:1%",
                            "--allow-config-mismatch"]) == 0


def test_compare_gates_only_significant_changes_by_default(
        synth: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs of the same settings, 3 trials each (too few for a significant difference):
    changes beyond a 0% limit are shown but do not trip the gate, unless asked."""
    a = synth("a", trials=3, duration_s=3.0, warmup_s=1.0)
    b = synth("b", trials=3, duration_s=3.0, warmup_s=1.0, seed=8)
    spec = "p50:0%,p99:0%,throughput:0%"
    cmp = compare_runs(a, b, fail_on=spec)
    assert cmp.passed
    assert any("not gated" in g.detail for g in cmp.gates)
    assert compare_command([str(a), str(b), "--fail-on", spec]) == 0
    assert compare_command([str(a), str(b), "--fail-on", spec, "--gate-insignificant"]) == 1
    assert "gate FAILED" in capsys.readouterr().out


def test_compare_names_any_run_setting_that_changes_the_load(
        small_run: Path, tmp_path: Path) -> None:
    """Every recorded setting is compared unless it only says where the run goes or how
    precise it is: a changed poll interval is named once, a changed label, output folder,
    trial count or external address is not, and a changed user count is not said twice."""
    knobs = {"label": "a", "out": "runs", "trials": 5, "target_urls": ["x=http://a"],
             "poll_interval_s": 0.2, "browse_pool": 5, "users": 20}
    runs = []
    for name, changes in (("a", {}), ("b", {"label": "b", "out": "elsewhere", "trials": 3,
                                            "target_urls": ["x=http://b"],
                                            "poll_interval_s": 0.5})):
        run = Path(shutil.copytree(small_run, tmp_path / name))
        config = json.loads((run / "config.json").read_text(encoding="utf-8"))
        config["knobs"] = {**knobs, **changes}
        (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
        runs.append(run)
    assert compare_runs(*runs).config_differences == ["knobs.poll_interval_s: 0.2 -> 0.5"]


def test_settings_left_out_of_the_comparison_are_real_settings() -> None:
    """Each setting the comparison leaves out by name is a run setting (no stale names)."""
    names = {f.name for f in dataclasses.fields(RunConfig)}
    assert names >= KNOBS_NOT_LOAD, KNOBS_NOT_LOAD - names
