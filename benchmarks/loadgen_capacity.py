"""How many requests per second the paybench load generator can produce and record.

Starts the engine (with its PostgreSQL, Redis and gateway simulator) through the stack,
then drives ``GET /ping`` as fast as possible, closed model, no think time:

* the paybench harness (Locust FastHttpUser + full-precision recording) with 1 process,
* the same with 2 processes (``--processes 2``: a master and two workers),
* ``wrk`` with the same connection count, if ``wrk`` is on PATH (the reference ceiling).

It prints the achieved rates and ratios. On a small machine the generator, the engine and
the databases share the cores, so these are the rates *of this machine*, which is exactly
what bounds a paybench run here::

    .venv/bin/python benchmarks/loadgen_capacity.py --seconds 8 --users 32
    PAYBENCH_DATABASE_URL=postgresql://root@127.0.0.1:5432/test \\
    PAYBENCH_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/loadgen_capacity.py
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtests.config import resolve  # noqa: E402
from loadtests.trials import TrialPlan, TrialRunner  # noqa: E402
from rundir import layout  # noqa: E402
from stack.services import Stack, StackConfig  # noqa: E402


def harness_rate(url: str, out: Path, *, processes: int, users: int, seconds: float,
                 warmup: float, env: dict[str, str]) -> dict[str, Any]:
    """Requests/s the harness achieved and recorded in one trial against ``url``."""
    cfg = resolve({"scenario": "ping", "users": users, "processes": processes,
                   "stop_timeout_s": 1}, env={}, cwd=out)
    runner = TrialRunner(out, cfg, urls={f"p{processes}": url}, api_keys={}, stack=None,
                         base_env=env, log=lambda _line: None)
    trial = runner.run_one(TrialPlan(target=f"p{processes}", index=1, order=0, users=users,
                                     rate=None, warmup_s=warmup, duration_s=seconds))
    cpu = generator_cpu_s(layout.trial_dir(out, f"p{processes}-1") / layout.RESOURCES)
    return {
        "rps": (trial.requests_measured or 0) / seconds,
        "cpu_ms_per_req": 1000.0 * cpu / trial.requests if trial.requests else None,
        "failures": trial.failures,
        "cpu_warning": trial.cpu_warning,
        "valid": trial.valid,
    }


def generator_cpu_s(resources: Path) -> float:
    """CPU seconds all Locust processes used during the trial (first to last sample)."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for line in resources.read_text().splitlines()[1:]:
        _t, role, pid, cpu_s, _rss = line.split(",")
        if role == "locust":
            first.setdefault(pid, float(cpu_s))
            last[pid] = float(cpu_s)
    return sum(last[pid] - first[pid] for pid in last)


def wrk_rate(url: str, *, users: int, seconds: float) -> float | None:
    """Requests/s of ``wrk`` against ``url`` (None if wrk is not installed)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    proc = subprocess.run([wrk, "-t2", f"-c{users}", f"-d{int(seconds)}s", url],
                          capture_output=True, text=True, timeout=seconds + 30, check=False)
    match = re.search(r"Requests/sec:\s+([0-9.]+)", proc.stdout)
    return float(match.group(1)) if match else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=32, help="connections / users")
    parser.add_argument("--workers", type=int, default=2, help="engine worker processes")
    args = parser.parse_args()

    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
        tmp_path = Path(tmp)
        config = StackConfig(
            log_dir=tmp_path / "logs", targets=("engine",), workers=args.workers,
            database_url=env.get("PAYBENCH_DATABASE_URL"), redis_url=env.get("PAYBENCH_REDIS_URL"),
            gateway_profile="instant",
        )
        print(f"starting the engine ({args.workers} workers) ...", flush=True)
        with Stack(config) as stack:
            url = stack.urls["engine"]
            ping = f"{url}/ping"
            print(f"engine at {url}; {args.users} users, {args.seconds:g} s per run "
                  f"({os.cpu_count()} CPUs shared by generator, engine and databases)")
            results: dict[str, dict[str, Any]] = {}
            for processes in (1, 2):
                out = tmp_path / f"p{processes}"
                out.mkdir()
                results[f"paybench, {processes} process{'es' if processes > 1 else ''}"] = (
                    harness_rate(url, out, processes=processes, users=args.users,
                                 seconds=args.seconds, warmup=args.warmup, env=env))
            wrk = wrk_rate(ping, users=args.users, seconds=args.seconds)

    print()
    print(f"{'generator':<28} {'req/s':>10} {'failures':>9} {'gen CPU ms/req':>15} "
          f"{'1-core ceiling':>15}  notes")
    for name, r in results.items():
        note = "cpu_warning (generator saturated)" if r["cpu_warning"] else ""
        cost = r["cpu_ms_per_req"]
        ceiling = f"{1000.0 / cost:,.0f}/s" if cost else "-"
        cost_text = f"{cost:.3f}" if cost else "-"
        print(f"{name:<28} {r['rps']:>10,.0f} {r['failures']:>9} {cost_text:>15} "
              f"{ceiling:>15}  {note}")
    one = results["paybench, 1 process"]["rps"]
    two = results["paybench, 2 processes"]["rps"]
    if wrk is not None:
        print(f"{'wrk -t2 -c' + str(args.users):<28} {wrk:>10,.0f} {'-':>9}")
    else:
        print("wrk: not installed (apt-get install -y wrk) - no reference ceiling")
    print()
    print(f"2 processes / 1 process: {two / one:.2f}x")
    if wrk:
        print(f"paybench 1 process / wrk: {one / wrk:.2f}   paybench 2 processes / wrk: "
              f"{two / wrk:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
