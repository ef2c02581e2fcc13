"""Where everything of a run directory lives: file names, folders, the trial folder name.

::

    runs/<YYYY-MM-DDTHH-MM-SS>_<label>/   (``create_run_dir``)
      config.json           RunDoc: every setting of the run (rewritten as the run goes)
      environment.json      versions, git commit, machine, PostgreSQL/Redis settings
      gateway_ledger.json   the gateway simulator's audit ledger
      trials/<target>-<n>/  one folder per trial (``trial_name``):
        trial.json          TrialMeta: the trial's plan, windows, counters and validity
        samples.csv.gz      one row per request (``rundir.samples.Sample``)
        latency.hdr         HdrHistogram of the measured latencies (microseconds)
        resources.csv       CPU and memory of every process (``rundir.samples.Resource``)
        locust/             Locust's own CSV files and log
        .parts/             per-process part files until they are merged
      results.json          every number of the report (written by ``reports``)
      report.html, report.md, figures/*.png
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

CONFIG = "config.json"
ENVIRONMENT = "environment.json"
LEDGER = "gateway_ledger.json"
RESULTS = "results.json"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
FIGURES = "figures"
TRIALS = "trials"

TRIAL_META = "trial.json"
SAMPLES = "samples.csv.gz"
HDR = "latency.hdr"
RESOURCES = "resources.csv"
LOCUST = "locust"
PARTS = ".parts"

# the part files one generator process leaves in PARTS (merged into SAMPLES and HDR)
PART_SAMPLES_SUFFIX = ".samples.csv.gz"
PART_HDR_SUFFIX = ".hdr"
PART_SUMMARY_SUFFIX = ".json"

RUN_STAMP = "%Y-%m-%dT%H-%M-%S"
_TRIAL_NAME = re.compile(r"^(?P<target>.+)-(?P<index>\d+)$")


def create_run_dir(out: Path, label: str, now: datetime | None = None) -> Path:
    """``out/<YYYY-MM-DDTHH-MM-SS>_<label>``, with ``-2``, ``-3``... if it exists."""
    stamp = (now or datetime.now().astimezone()).strftime(RUN_STAMP)  # local time
    out.mkdir(parents=True, exist_ok=True)
    base = f"{stamp}_{label}"
    for n in range(1, 1000):
        path = out / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free run directory for {base} in {out}")


def trial_name(target: str, index: int) -> str:
    """The folder of a target's ``index``-th trial (1-based): ``<target>-<index>``."""
    return f"{target}-{index}"


def parse_trial_name(name: str) -> tuple[str, int] | None:
    """``(target, index)`` of a trial folder name, None if it does not have the pattern."""
    match = _TRIAL_NAME.match(name)
    return (match.group("target"), int(match.group("index"))) if match else None


def trials_dir(run_dir: Path) -> Path:
    """The folder holding every trial folder of a run."""
    return run_dir / TRIALS


def trial_dir(run_dir: Path, name: str) -> Path:
    """A trial's folder, from its name (``trial_name``)."""
    return run_dir / TRIALS / name


def part_samples(parts_dir: Path, part: str) -> Path:
    """One generator process's headerless sample rows (appended in gzip members)."""
    return parts_dir / f"{part}{PART_SAMPLES_SUFFIX}"


def part_hdr(parts_dir: Path, part: str) -> Path:
    """One generator process's histogram of measured latencies."""
    return parts_dir / f"{part}{PART_HDR_SUFFIX}"


def part_summary(parts_dir: Path, part: str) -> Path:
    """One generator process's counters (``rundir.parts.PartDoc``)."""
    return parts_dir / f"{part}{PART_SUMMARY_SUFFIX}"
