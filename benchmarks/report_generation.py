"""How long rendering a large run takes, and how much memory it needs.

Synthesises a run of 10 trials x 2 targets with more than 1,000,000 samples into a
temporary directory (the same generator as the test fixtures), then:

1. runs ``reports.render_run`` in a fresh interpreter and reports its wall time and
   peak RSS (``resource.getrusage`` max RSS of that process), so neither the generator
   nor this script's own memory is counted;
2. repeats the phases in this process (load, statistics, figures, full render) with
   timings, and the peak of Python allocations under ``tracemalloc``.

Usage: ``.venv/bin/python benchmarks/report_generation.py [--trials 10] [--scale 7]
[--keep DIR]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import ModuleType

import pandas as pd

from reports import build_results, load_run, render_run
from reports.figures import render_figures

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
import reports
t1 = time.perf_counter()
rendered = reports.render_run(Path(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "render_s": t2 - t1,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "figures": len(rendered.figures), "verdict": rendered.verdict}))
"""


def _make_run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("paybench_make_run",
                                                  ROOT / "tests" / "fixtures" / "make_run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _samples_in(run_dir: Path) -> int:
    return sum(len(pd.read_csv(p, usecols=["t"])) for p in run_dir.glob("trials/*/samples.csv.gz"))


def main() -> None:
    """Synthesise, render, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per target")
    parser.add_argument("--scale", type=float, default=7.0, help="request rate multiplier")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--keep", type=Path, default=None, help="write the run here and keep it")
    args = parser.parse_args()

    make_run = _make_run_module()
    with tempfile.TemporaryDirectory(prefix="paybench-bench-") as tmp:
        run_dir = (args.keep or Path(tmp)) / "run_large"
        t0 = time.perf_counter()
        make_run.make_run(run_dir, make_run.RunSpec(
            label="large", trials=args.trials, duration_s=args.duration, warmup_s=5.0,
            scale=args.scale, seed=3))
        gen_s = time.perf_counter() - t0
        samples = _samples_in(run_dir)
        size_mb = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file()) / 1e6
        print(f"synthesised {samples:,} samples in {args.trials} trials x 2 targets "
              f"({size_mb:.1f} MB on disk) in {gen_s:.1f} s")

        out = subprocess.run([sys.executable, "-c", CHILD, str(run_dir)], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        child = json.loads(out.stdout.strip().splitlines()[-1])
        rss_mib = child["maxrss_kib"] / 1024
        print(f"render_run (fresh process): {child['render_s']:.2f} s "
              f"(+ {child['import_s']:.2f} s import), peak RSS {rss_mib:.0f} MiB, "
              f"{child['figures']} figures, {samples / child['render_s'] / 1e6:.2f} M samples/s")

        tracemalloc.start()
        t0 = time.perf_counter()
        run = load_run(run_dir)
        t1 = time.perf_counter()
        results = build_results(run)
        t2 = time.perf_counter()
        render_figures(run, results, Path(tmp) / "figs")
        t3 = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"phases (under tracemalloc): load {t1 - t0:.2f} s, statistics {t2 - t1:.2f} s, "
              f"figures {t3 - t2:.2f} s; peak Python allocations {peak / 2**20:.0f} MiB")
        del run, results
        t0 = time.perf_counter()
        render_run(run_dir)
        print(f"render_run (in process, warm imports): {time.perf_counter() - t0:.2f} s")
        print(f"verdict: {child['verdict']}")


if __name__ == "__main__":
    main()
