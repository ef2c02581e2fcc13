"""Locust master and workers started by hand, then ``python -m loadtests.merge``, as the
README's "other machines" recipe shows, on loopback with separate processes."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from loadtests.merge import read_part_rows
from reports.load import load_run
from rundir.samples import SAMPLE_HEADER
from tests.loadtests.servers import _free_port, stall_server

REPO = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).with_name("locust"))
HARNESS = "loadtests/locustfiles/harness.py"
WARMUP_S = 1.0
DURATION_S = 2.0
RUN_TIME = "3s"
WAIT_S = 20.0


@dataclass(frozen=True)
class Distributed:
    """What one hand-run master + two workers left behind, merged into a run directory."""

    run_dir: Path
    trial_dir: Path
    parts_dir: Path
    merge_out: dict[str, Any]


def _popen(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # Own session: cleanup can kill the process with anything it spawned.
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _run(tmp_path: Path, url: str, env_extra: dict[str, str], users: int) -> Distributed:
    """Start the master and two workers with the README's commands, wait, merge."""
    parts = tmp_path / "parts"
    run_dir = tmp_path / "run"
    trial = run_dir / "trials" / "ping-1"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    common = {"PAYBENCH_PARTS_DIR": str(parts), "PAYBENCH_SCENARIO": "ping", **env_extra}
    worker_env = {**base, **common, "PAYBENCH_WARMUP_S": str(WARMUP_S),
                  "PAYBENCH_DURATION_S": str(DURATION_S)}
    port = str(_free_port())
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_popen(
            [LOCUST, "-f", HARNESS, "--master", "--master-bind-host", "127.0.0.1",
             "--master-bind-port", port, "--expect-workers", "2", "--headless",
             "-u", str(users), "-r", str(users), "-t", RUN_TIME, "--host", url,
             "--csv", str(trial / "locust" / "locust")],
            {**base, **common}, tmp_path / "master.log"))
        for i in (1, 2):
            procs.append(_popen(
                [LOCUST, "-f", HARNESS, "--worker", "--master-host", "127.0.0.1",
                 "--master-port", port],
                worker_env, tmp_path / f"worker{i}.log"))
        deadline = time.monotonic() + WAIT_S
        for proc in procs:
            code = proc.wait(max(0.1, deadline - time.monotonic()))
            log = (tmp_path / "master.log").read_text(errors="replace")[-2000:]
            assert code == 0, f"locust exited {code}:\n{log}"
    finally:
        for proc in procs:
            _kill(proc)
    merged = subprocess.run(
        [sys.executable, "-m", "loadtests.merge", str(parts), str(trial)],
        cwd=REPO, env=base, capture_output=True, text=True, timeout=60, check=False)
    assert merged.returncode == 0, merged.stderr
    # A run directory also needs its config.json; the recipe leaves it to the person.
    (run_dir / "config.json").write_text(json.dumps({"label": "by-hand"}))
    return Distributed(run_dir, trial, parts, json.loads(merged.stdout))


def _worker_rows(parts: Path) -> dict[str, list[list[str]]]:
    return {p.name.split(".")[0]: read_part_rows(p)
            for p in sorted(parts.glob("worker*.samples.csv.gz"))}


def test_hand_run_workers_merge_into_a_readable_trial(tmp_path: Path) -> None:
    """Closed model: both workers' full-precision samples and one HDR merge into a valid trial."""
    env = {"PAYBENCH_THINK_TIME_S": "0.02"}
    with stall_server() as url:
        out = _run(tmp_path, url, env, users=4)
    assert sorted(str(r) for r in out.merge_out["roles"]) == [
        "master", "worker0", "worker1"]
    per_worker = _worker_rows(out.parts_dir)
    assert len(per_worker) == 2
    assert all(len(rows) > 20 for rows in per_worker.values()), {
        k: len(v) for k, v in per_worker.items()}
    assert (out.trial_dir / "locust" / "locust_stats.csv").exists()

    run = load_run(out.run_dir)
    assert run.problems == ("environment.json missing",)
    (trial,) = run.trials
    assert trial.problems == ()
    assert (trial.target, trial.index) == ("ping", 1)
    assert trial.meta.valid
    assert trial.meta.model == "closed"
    assert trial.meta.merged_by_hand is True
    samples = trial.samples
    assert len(samples) == sum(len(r) for r in per_worker.values()) == out.merge_out["requests"]
    assert samples["t"].is_monotonic_increasing
    assert set(samples["name"].astype(str)) == {"GET /ping"}
    assert (samples["status"] == 200).all()
    assert (samples["ok"] == 1).all()
    lat = samples["latency_ms"]
    assert lat.min() > 0
    assert lat.max() < 1000
    assert lat.median() < 100
    # Full precision: Locust itself would round these to ~2 significant digits.
    assert lat.nunique() > len(lat) // 2
    measured = trial.measured
    assert 0 < len(measured) < len(samples)
    assert isinstance(trial.hdr, HdrHistogram)
    assert trial.hdr.get_total_count() == len(measured) == trial.meta.requests_measured
    with gzip.open(out.trial_dir / "samples.csv.gz", "rt") as fh:
        assert fh.readline().strip() == ",".join(SAMPLE_HEADER)


def test_hand_run_open_model_workers_interleave(tmp_path: Path) -> None:
    """Open model: the two workers' intended starts alternate, one every 1/rate overall."""
    rate = 100.0
    env = {"PAYBENCH_MODEL": "open", "PAYBENCH_RATE": str(rate), "PAYBENCH_PROCESSES": "2"}
    with stall_server() as url:
        out = _run(tmp_path, url, env, users=10)
    owner: dict[float, str] = {}
    per_worker = _worker_rows(out.parts_dir)
    assert len(per_worker) == 2
    for part, rows in per_worker.items():
        starts = sorted(float(r[0]) for r in rows if r[1] == "GET /ping")
        assert len(starts) > 50, part
        # Each worker owns every other slot of the whole run's schedule.
        own_gap = statistics.median(b - a for a, b in itertools.pairwise(starts))
        assert abs(own_gap - 2 / rate) < 1e-3
        owner.update((round(t, 6), part) for t in starts)

    run = load_run(out.run_dir)
    (trial,) = run.trials
    assert trial.problems == ()
    assert trial.meta.model == "open"
    assert (trial.meta.scheduled_starts or 0) > 0
    ping = trial.samples[trial.samples["name"].astype(str) == "GET /ping"]
    starts = ping["t"].tolist()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert abs(statistics.median(gaps) - 1 / rate) < 1e-3
    switches = sum(owner[round(a, 6)] != owner[round(b, 6)]
                   for a, b in itertools.pairwise(starts))
    assert switches > 0.9 * len(gaps)
    assert ping["latency_ms"].min() > 0
    assert ping["latency_ms"].median() < 100
    assert isinstance(trial.hdr, HdrHistogram)
    assert trial.hdr.get_total_count() > 0
