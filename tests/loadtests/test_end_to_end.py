"""``paybench run --quick`` against the real stack, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_quick_run_writes_a_complete_run_directory(tmp_path: Path) -> None:
    """A shortened quick run exits 0 and leaves config, environment, trials and report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    # the suite's servers (given or embedded, see tests/conftest.py)
    env.update(PAYBENCH_DATABASE_URL=os.environ["PAYBENCH_TEST_DATABASE_URL"],
               PAYBENCH_REDIS_URL=os.environ["PAYBENCH_TEST_REDIS_URL"])
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests.cli", "run", "--quick", "--duration", "4",
         "--warmup", "1", "--users", "4", "--out", str(tmp_path / "runs"), "--label", "e2e"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.endswith("_e2e")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["complete"] is True
    assert set(config["targets"]) == {"legacy", "engine"}
    assert config["targets"]["engine"]["workers"] == config["targets"]["legacy"]["workers"]
    assert json.loads((run_dir / "environment.json").read_text())
    for name in ("legacy-1", "engine-1"):
        trial = json.loads((run_dir / "trials" / name / "trial.json").read_text())
        assert trial["complete"] is True
        assert trial["requests_measured"] > 0
        assert trial["failures"] == 0, trial
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"] is True
    assert (run_dir / "report.html").stat().st_size > 1000
    assert "run directory" in proc.stdout
