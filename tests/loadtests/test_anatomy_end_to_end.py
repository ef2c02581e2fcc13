"""Where the time goes, measured on the real stack: one sync worker under eight users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reports import anatomy
from reports.load import load_run

USERS = 8


@pytest.mark.slow
def test_one_legacy_worker_under_eight_users_spends_its_time_queueing(tmp_path: Path) -> None:
    """The legacy service with 1 worker and 8 concurrent users: every answered request
    carries the server's parts, queueing for the worker dominates the median request
    (about 7 of every 8 requests in the system wait), and the median request's parts,
    queue + server total, add up to the measured median client latency within 5%."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    env.update(PAYBENCH_DATABASE_URL=os.environ["PAYBENCH_TEST_DATABASE_URL"],
               PAYBENCH_REDIS_URL=os.environ["PAYBENCH_TEST_REDIS_URL"])
    proc = subprocess.run(
        [sys.executable, "-m", "paybench.cli", "run", "--targets", "legacy", "--workers", "1",
         "--users", str(USERS), "--trials", "1", "--warmup", "2", "--duration", "10",
         "--out", str(tmp_path / "runs"), "--label", "anatomy"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    legacy = results["composition"]["targets"]["legacy"]
    assert legacy["timed_requests"] == legacy["ok_requests"] >= 50, legacy
    median = legacy["all"]["median"]
    assert legacy["dominant"]["part"] == "queue", median
    assert median["shares"]["queue"] > 0.6, median
    (trial,) = results["trials"]
    measured = trial["p50_ms"]
    assert sum(median["parts_ms"].values()) == pytest.approx(measured, rel=0.05), (
        median, measured)
    # per request, what the server saw plus the queue is the client's latency
    frame = anatomy.timed(load_run(run_dir).trials[0].samples)
    server = frame[["app", "db", "cache", "gateway"]].sum(axis=1).to_numpy()
    np.testing.assert_allclose(frame["queue"].to_numpy() + server,
                               frame["latency_ms"].to_numpy(), rtol=0.05, atol=0.01)
    assert "legacy: " in results["composition"]["sentence"]
    assert "queue + network" in results["composition"]["sentence"]
    assert (run_dir / "figures" / "composition.png").exists()
