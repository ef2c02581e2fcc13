"""Does paybench's open model measure the target, or itself? Compared with an independent
constant-rate generator on the same fast endpoint, and its highest rate against stock Locust.

1. **Fidelity.** A reference endpoint that answers at once (``loadtests.reference_server``
   with no slots, in its own process) is driven at each ``--rates`` value alternately by
   paybench's open model (the harness's own trial runner: Locust, the pacer, the recorder)
   and by ``benchmarks/openloop.py`` (plain asyncio, nothing shared with paybench), the
   same number of trials each, the same warm-up and window, both measuring latency from
   the intended start. Printed: both p99s per trial and the median ratio, with the goal
   "paybench p99 / independent p99 <= 1.10, or within 2 ms".
2. **Ceiling.** The highest offered rate paybench's open model holds on this machine (the
   trial valid, no error, no start late or dropped while a user was free, completed rate
   within 1% of offered), stepping ``--ceiling-rates``, next to the requests/s stock
   Locust (a plain ``FastHttpUser`` locustfile, closed model, ``--users`` users, no think
   time, one process) reaches on the same endpoint.

::

    .venv/bin/python benchmarks/open_model_fidelity.py --trials 3 --duration 10
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtests.config import resolve  # noqa: E402
from loadtests.trials import TrialPlan, TrialRunner, trial_figures  # noqa: E402
from tests.loadtests.servers import reference_server  # noqa: E402

STOCK_LOCUSTFILE = textwrap.dedent('''
    from locust import FastHttpUser, task

    class Ping(FastHttpUser):
        @task
        def ping(self):
            self.client.get("/ping")
''')


def paybench_trial(url: str, rate: float, *, duration: float, warmup: float,
                   out: Path, index: int) -> dict[str, Any]:
    """One open-model trial of the ``ping`` scenario through the harness."""
    config = resolve({"scenario": "ping", "rate": rate}, env={}, cwd=out)
    runner = TrialRunner(out, config, urls={"ref": url}, api_keys={}, stack=None,
                         base_env=dict(os.environ), log=lambda _line: None)
    trial = runner.run_one(TrialPlan(target="ref", index=index, order=index, users=config.users,
                                     rate=rate, warmup_s=warmup, duration_s=duration))
    fig = trial_figures(out, f"ref-{index}")
    behind = ((trial.late_starts or 0) + (trial.dropped_starts or 0)
              - (trial.late_queued or 0) - (trial.dropped_queued or 0))
    return {"p99_ms": fig["p99_ms"], "p50_ms": fig["p50_ms"], "valid": trial.valid,
            "errors": trial.failures, "timed_out": trial.timed_out,
            "completed_rps": fig["throughput_rps"], "behind": behind,
            "max_lag_ms": trial.max_start_lag_ms, "reasons": list(trial.invalid_reasons or ())}


def independent_trial(url: str, rate: float, *, duration: float, warmup: float) -> dict[str, Any]:
    """One run of the independent open-loop generator."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "openloop.py"), f"{url}/ping",
         "--rate", str(rate), "--duration", str(duration), "--warmup", str(warmup)],
        capture_output=True, text=True, check=True, timeout=duration + warmup + 60)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def stock_locust_rps(url: str, *, users: int, seconds: int, out: Path) -> float:
    """Requests/s of stock Locust, closed model, on ``url``'s ``/ping``."""
    locustfile = out / "stock_locustfile.py"
    locustfile.write_text(STOCK_LOCUSTFILE)
    prefix = out / "stock"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", url,
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(prefix),
         "--only-summary", "--loglevel", "WARNING"],
        capture_output=True, text=True, check=True, timeout=seconds + 60)
    with open(f"{prefix}_stats.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                return float(row["Requests/s"])
    raise RuntimeError("stock Locust wrote no aggregated row")


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="400,800")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--ceiling-rates", default="800,1200,1600,2000,2400,3200")
    parser.add_argument("--users", type=int, default=32, help="stock Locust's users")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp, \
            reference_server(slots=0, service_ms=0) as url:
        out = Path(tmp)
        index = 0
        print(f"endpoint {url}/ping (answers at once); {args.trials} trials each, "
              f"{args.warmup:g} s warm-up + {args.duration:g} s")
        print(f"{'rate':>6} {'trial':>5} {'paybench p99':>13} {'independent p99':>16} "
              f"{'ratio':>6}  paybench errors/timed out/behind")
        for rate in rates:
            ratios: list[float] = []
            gap_ms: list[float] = []
            for n in range(1, args.trials + 1):
                index += 1
                ours = paybench_trial(url, rate, duration=args.duration, warmup=args.warmup,
                                      out=out, index=index)
                theirs = independent_trial(url, rate, duration=args.duration,
                                           warmup=args.warmup)
                ratio = ours["p99_ms"] / theirs["p99_ms"]
                ratios.append(ratio)
                gap_ms.append(ours["p99_ms"] - theirs["p99_ms"])
                print(f"{rate:>6g} {n:>5} {ours['p99_ms']:>10.2f} ms {theirs['p99_ms']:>13.2f} ms "
                      f"{ratio:>6.2f}  {ours['errors']}/{ours['timed_out']}/{ours['behind']}"
                      + ("" if ours["valid"] else f"  INVALID: {ours['reasons']}"))
            median = statistics.median(ratios)
            gaps = sorted(gap_ms)
            met = median <= 1.10 or gaps[len(gaps) // 2] <= 2.0
            print(f"{rate:>6g}  median ratio {median:.2f}, median gap "
                  f"{gaps[len(gaps) // 2]:+.2f} ms: goal (<= 1.10 or within 2 ms) "
                  + ("met" if met else "NOT met"))
        print("\nhighest rate the open model holds:")
        held = 0.0
        for rate in [float(r) for r in args.ceiling_rates.split(",")]:
            index += 1
            ours = paybench_trial(url, rate, duration=args.duration, warmup=args.warmup,
                                  out=out, index=index)
            ok = (ours["valid"] and ours["errors"] == 0 and ours["behind"] == 0
                  and abs(ours["completed_rps"] - rate) <= 0.01 * rate)
            print(f"{rate:>6g}/s: completed {ours['completed_rps']:.1f}/s, p99 "
                  f"{ours['p99_ms']:.2f} ms, worst start lag {ours['max_lag_ms']:.1f} ms: "
                  + ("held" if ok else f"NOT held {ours['reasons']}"))
            if not ok:
                break
            held = rate
        stock = stock_locust_rps(url, users=args.users, seconds=int(args.duration),
                                 out=out)
        print(f"paybench open model holds {held:g} requests/s; stock Locust closed model "
              f"({args.users} users, one process) reaches {stock:.0f} requests/s on the same "
              f"endpoint: ratio {held / stock:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
