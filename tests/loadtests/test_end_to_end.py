"""``paybench run --quick`` against the real stack, end to end."""

from __future__ import annotations

import csv
import gzip
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_quick_run_writes_a_complete_run_directory(tmp_path: Path) -> None:
    """A (shortened) quick run exits 0 and leaves config, environment, trials and report; its
    capacity search gives both targets a capacity in requests/s, the engine's above the
    legacy service's with the `fast` gateway (auth p50 50 ms), and a verdict with units."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    # the suite's servers (given or embedded, see tests/conftest.py)
    env.update(PAYBENCH_DATABASE_URL=os.environ["PAYBENCH_TEST_DATABASE_URL"],
               PAYBENCH_REDIS_URL=os.environ["PAYBENCH_TEST_REDIS_URL"])
    proc = subprocess.run(
        # --quick made coarser still (the suite's time): the checks below need a capacity
        # per target, not a precise one
        [sys.executable, "-m", "paybench.cli", "run", "--quick", "--targets", "legacy,engine",
         "--search-duration", "3", "--search-warmup", "0.5", "--warmup", "0.5",
         "--duration", "3", "--search-resolution", "0.9", "--out", str(tmp_path / "runs"),
         "--label", "e2e"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.endswith("_e2e")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["complete"] is True
    assert set(config["targets"]) == {"legacy", "engine"}
    assert config["targets"]["engine"]["workers"] == config["targets"]["legacy"]["workers"]
    assert "one request at a time" in config["targets"]["legacy"]["server"]
    assert "a listening socket per worker" in config["targets"]["engine"]["server"]
    assert config["objective"]["source"] == "derived"
    assert config["gateway"]["latency"]["auth"]["p50_ms"] >= 50
    assert json.loads((run_dir / "environment.json").read_text())
    for name in ("legacy-1", "engine-1"):
        trial = json.loads((run_dir / "trials" / name / "trial.json").read_text())
        assert trial["complete"] is True
        assert trial["phase"] == "search"
        assert trial["requests_measured"] > 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"] is True
    caps = results["capacity"]
    legacy, engine = caps["legacy"]["max_sustainable_rps"], caps["engine"]["max_sustainable_rps"]
    assert legacy is not None
    assert engine is not None
    assert engine > legacy, caps
    assert caps["engine"]["offered_unit"] == "iterations/s"
    text = results["verdict"]["text"]
    assert "req/s" in text
    assert "at p99 <= " in text
    assert (run_dir / "report.html").stat().st_size > 1000
    assert (run_dir / "figures" / "capacity.png").exists()
    assert "latency objective" in proc.stdout
    assert "ETA" in proc.stdout
    assert "run directory" in proc.stdout


def _median_latency(trial_dir: Path, name: str) -> float:
    with gzip.open(trial_dir / "samples.csv.gz", "rt") as fh:
        values = [float(r["latency_ms"]) for r in csv.DictReader(fh)
                  if r["warmup"].strip() == "0" and r["name"] == name]  # fmt: skip
    assert values, f"no measured {name} in {trial_dir.name}"
    return statistics.median(values)


@pytest.mark.slow
def test_gateway_latency_sweep_runs_end_to_end(tmp_path: Path) -> None:
    """--sweep-gateway-ms 0,100 runs every target at each latency, which the charges really
    pay, and reports the speedup at each point and how many trials each point had."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    env.update(PAYBENCH_DATABASE_URL=os.environ["PAYBENCH_TEST_DATABASE_URL"],
               PAYBENCH_REDIS_URL=os.environ["PAYBENCH_TEST_REDIS_URL"])
    proc = subprocess.run(
        [sys.executable, "-m", "paybench.cli", "sweep", "--sweep-gateway-ms", "0,100",
         "--targets", "legacy,engine",
         "--step-duration", "3", "--step-warmup", "1", "--users", "4",
         "--out", str(tmp_path / "runs")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    planned = {"legacy-1": 0.0, "engine-1": 0.0, "legacy-2": 100.0, "engine-2": 100.0}
    for name, latency in planned.items():
        trial = json.loads((run_dir / "trials" / name / "trial.json").read_text())
        assert trial["complete"], trial
        assert trial["valid"], trial
        assert trial["gateway_latency_ms"] == latency
        create = _median_latency(run_dir / "trials" / name, "POST /v1/payments")
        # create-and-confirm makes two payment calls to the gateway, each 100 ms at the median
        assert (create >= 100.0) if latency else (create < 100.0), (name, create)
    results = json.loads((run_dir / "results.json").read_text())
    points = results["gateway_sweep"]["points"]
    assert [p["gateway_latency_ms"] for p in points] == [0.0, 100.0]
    assert all(set(p["throughput_rps"]) == {"legacy", "engine"} for p in points)
    assert "gateway latency" in results["verdict"]["text"]
    assert "1 trial(s) per target and gateway latency, interleaved" in results["method"]
