"""The capacity search and the open model against reference targets known by construction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from loadtests.capacity import CapacityRun
from loadtests.config import resolve
from loadtests.trials import TrialPlan, TrialRunner, trial_figures
from reports.capacity import Objective, assess_step
from rundir import layout
from tests.loadtests.servers import reference_server

SLOTS, SERVICE_MS = 4, 50.0
CAPACITY = SLOTS / (SERVICE_MS / 1000.0)  # 80 requests/s, exactly


def _runner(tmp_path: Path, url: str, **knobs: object) -> TrialRunner:
    cli: dict[str, object] = {"scenario": "ping", "targets": "ref", "target_urls": f"ref={url}",
                              "api_keys": "unused"}
    cli.update(knobs)
    config = resolve(cli, env={}, cwd=tmp_path)
    return TrialRunner(tmp_path, config, urls={"ref": url}, api_keys={}, stack=None,
                       base_env=dict(os.environ), log=lambda _line: None)


@pytest.mark.slow
def test_search_finds_the_capacity_of_slots_times_service_time(tmp_path: Path) -> None:
    """4 slots x 50 ms: the search reports 70-84 requests/s, no step completes more than the
    server can serve in its window, and every step offered above 84/s is not sustained."""
    with reference_server(slots=SLOTS, service_ms=SERVICE_MS) as url:
        runner = _runner(tmp_path, url, search_start=40, search_warmup_s=0.5,
                         search_duration_s=3, warmup_s=0.5, duration_s=4, confirm_trials=1,
                         slo="p99<150ms")
        outcome = CapacityRun(runner, runner.config, baseline="ref", log=lambda _l: None,
                              on_objective=lambda _o: None).run()
        with urllib.request.urlopen(f"{url}/__stats", timeout=5) as resp:
            served = json.loads(resp.read())["served"]
    objective = Objective(p99_ms=150.0)
    steps = [trial_figures(tmp_path, layout.trial_name(t.target, t.index))
             for t in runner.results]
    search = outcome.searches["ref"]
    assert search.lo is not None
    assert 70.0 <= search.lo <= 84.0, [(s.rate, s.sustained) for s in search.steps]
    for fig in steps:
        window = fig["window_s"]
        # at most every slot busy through the window, plus one request per slot in service
        # when it opened
        assert fig["throughput_rps"] <= CAPACITY + SLOTS / window + 1e-9, fig
        if fig["offered_rps"] > 84.0:
            assert assess_step(fig, objective).sustained is False, fig
    recorded = sum(t.requests or 0 for t in runner.results)
    assert served >= recorded  # the harness never counts a request the server did not serve


@pytest.mark.slow
def test_open_model_on_a_fast_endpoint_has_no_errors_or_cut_off_requests(tmp_path: Path) -> None:
    """200 iterations/s on an endpoint that answers at once: all served, none timed out,
    the completed rate equals the offered one, and nothing is counted as an error."""
    with reference_server(slots=0, service_ms=0) as url:
        runner = _runner(tmp_path, url, rate=200, stop_timeout_s=1)
        trial = runner.run_one(TrialPlan(target="ref", index=1, order=0, users=200, rate=200,
                                         warmup_s=1.0, duration_s=3.0))
    fig = trial_figures(tmp_path, "ref-1")
    assert trial.valid, trial.invalid_reasons
    assert trial.failures == 0
    assert trial.timed_out == 0
    assert fig["error_ratio"] == 0.0
    assert fig["requests"] == 600  # every slot of the window, each measured once
    # completions inside the window: every one, give or take one at each edge
    assert fig["throughput_rps"] == pytest.approx(200.0, abs=2.0 / 3.0)
    assert fig["p99_ms"] < 100.0


@pytest.mark.slow
def test_gateway_sweep_reports_capacity_at_every_latency(tmp_path: Path) -> None:
    """``paybench sweep --sweep-gateway-ms`` runs a capacity search at every gateway latency
    and reports each target's capacity and the ratio there, with the ratio's figure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    env.update(PAYBENCH_DATABASE_URL=os.environ["PAYBENCH_TEST_DATABASE_URL"],
               PAYBENCH_REDIS_URL=os.environ["PAYBENCH_TEST_REDIS_URL"])
    with reference_server(slots=2, service_ms=50) as small, \
            reference_server(slots=4, service_ms=50) as big:
        proc = subprocess.run(
            [sys.executable, "-m", "paybench.cli", "sweep", "--sweep-gateway-ms", "10,20",
             "--target-url", f"small={small}", "--target-url", f"big={big}",
             "--api-keys", "unused", "--scenario", "ping", "--slo", "p99<150ms",
             "--search-start", "30", "--search-warmup", "0.5", "--search-duration", "2",
             "--search-resolution", "0.9", "--warmup", "0.5", "--duration", "2",
             "--confirm-trials", "1", "--out", str(tmp_path / "runs")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400, check=False,
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    points = results["capacity_search"]["points"]
    assert [p["gateway_latency_ms"] for p in points] == [10.0, 20.0]
    for point in points:
        small_cap = point["targets"]["small"]["max_sustainable_rps"]
        big_cap = point["targets"]["big"]["max_sustainable_rps"]
        # within the search's (coarse, for time) resolution below each capacity, never above
        assert 40.0 / 1.9 <= small_cap <= 41.0
        assert 80.0 / 1.9 <= big_cap <= 82.0
        assert 1.0 < point["ratios"]["big"]["ratio"] < 3.9
        assert point["objective"]["p99_ms"] == 150.0
    assert (run_dir / "figures" / "capacity_sweep.png").exists()
    text = results["verdict"]["text"]
    assert "set to auth p50 10 ms" in text
    assert "set to auth p50 20 ms" in text
    assert "req/s" in text
