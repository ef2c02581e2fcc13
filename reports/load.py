"""Load a run directory (see the run-directory layout in the project plan) into pandas.

Only this module touches the file system for reading; everything it returns is plain
data that ``reports.stats`` and ``reports.analysis`` work on. A damaged run directory
(no ``config.json``, unparsable JSON) raises ``RunDirError``. Damage confined to one
trial (an interrupted run leaves a truncated ``samples.csv.gz`` or no ``trial.json``)
does not: the trial is kept, its problems are listed, and the run is reported as
incomplete rather than refused.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from hdrh.histogram import HdrHistogram

from reports.errors import RunDirError

# Explicit dtypes keep parsing fast on million-row files and memory small.
SAMPLE_DTYPES: dict[str, str] = {
    "t": "float64",
    "name": "category",
    "method": "category",
    "latency_ms": "float64",
    "status": "int32",
    "ok": "int8",
    "warmup": "int8",
}
RESOURCE_DTYPES: dict[str, str] = {
    "t": "float64",
    "role": "category",
    "pid": "int64",
    "cpu_s": "float64",
    "rss_bytes": "float64",
}
TRIAL_DIR_RE = re.compile(r"^(?P<target>.+)-(?P<index>\d+)$")
# The row of an iteration still running when the drain ended (loadtests.recorder.TIMED_OUT).
TIMED_OUT = "(timed out)"


@dataclass(frozen=True)
class TrialData:
    """One trial directory: its metadata, raw samples (warm-up rows included), HDR, CPU."""

    dir_name: str
    path: Path
    meta: dict[str, Any]
    samples: pd.DataFrame
    hdr: Any | None  # hdrh.histogram.HdrHistogram (untyped package)
    resources: pd.DataFrame | None
    problems: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """Target name from trial.json, else from the directory name."""
        value = self.meta.get("target")
        if isinstance(value, str):
            return value
        match = TRIAL_DIR_RE.match(self.dir_name)
        return match.group("target") if match else self.dir_name

    @property
    def index(self) -> int:
        """1-based trial index per target."""
        value = self.meta.get("index")
        if isinstance(value, int):
            return value
        match = TRIAL_DIR_RE.match(self.dir_name)
        return int(match.group("index")) if match else 0

    @property
    def order(self) -> int:
        """Global 0-based position in the interleaved schedule (large when unknown)."""
        value = self.meta.get("order")
        return value if isinstance(value, int) else 1_000_000 + self.index

    @property
    def measured(self) -> pd.DataFrame:
        """Requests of the iterations that started in the measured window (``warmup`` 0;
        1 is the warm-up, 2 after the window): the only rows latency statistics use."""
        return self.samples[self.samples["warmup"] == 0]


@dataclass(frozen=True)
class RunData:
    """Everything a report needs from one run directory."""

    path: Path
    config: dict[str, Any]
    environment: dict[str, Any]
    trials: tuple[TrialData, ...]
    ledger: Any | None = None
    problems: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """Run label from config.json, else the directory name."""
        label = self.config.get("label")
        return label if isinstance(label, str) and label else self.path.name

    def target_names(self) -> list[str]:
        """Targets in config order, then any extra target that only appears in trials."""
        names: list[str] = list((self.config.get("targets") or {}).keys())
        for trial in self.trials:
            if trial.target not in names:
                names.append(trial.target)
        return names


def _read_json(path: Path, *, required: bool) -> Any:
    if not path.exists():
        if required:
            raise RunDirError(path, "missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(path, f"corrupt JSON ({exc})") from exc


def empty_samples() -> pd.DataFrame:
    """A zero-row samples frame with the canonical columns and dtypes."""
    return pd.DataFrame({col: pd.Series(dtype=dt) for col, dt in SAMPLE_DTYPES.items()})


def read_samples(path: Path) -> pd.DataFrame:
    """Read ``samples.csv.gz`` with explicit dtypes; raises ``RunDirError`` if unreadable."""
    try:
        frame = pd.read_csv(path, dtype=SAMPLE_DTYPES, engine="c")
    except (OSError, EOFError, zlib.error, ValueError, pd.errors.ParserError) as exc:
        raise RunDirError(path, f"unreadable samples ({exc})") from exc
    missing = set(SAMPLE_DTYPES) - set(frame.columns)
    if missing:
        raise RunDirError(path, f"missing columns {sorted(missing)}")
    return frame


def read_resources(path: Path) -> pd.DataFrame:
    """Read ``resources.csv``; raises ``RunDirError`` if unreadable."""
    try:
        frame = pd.read_csv(path, dtype=RESOURCE_DTYPES)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise RunDirError(path, f"unreadable resources ({exc})") from exc
    missing = {"t", "role", "pid", "cpu_s"} - set(frame.columns)
    if missing:
        raise RunDirError(path, f"missing columns {sorted(missing)}")
    return frame


def read_hdr(path: Path) -> Any:
    """Decode a ``latency.hdr`` file (text produced by ``HdrHistogram.encode()``)."""
    try:
        return HdrHistogram.decode(path.read_bytes().strip())
    except Exception as exc:  # hdrh raises bare zlib/struct/ValueError variants
        raise RunDirError(path, f"unreadable HDR histogram ({exc})") from exc


def load_trial(path: Path, run_root: Path) -> TrialData:
    """Load one ``trials/<target>-<n>/`` directory, collecting problems instead of failing."""
    problems: list[str] = []
    files: list[str] = []
    meta_path = path / "trial.json"
    meta: dict[str, Any] = {}
    try:
        raw = _read_json(meta_path, required=True)
        if isinstance(raw, dict):
            meta = raw
        else:
            problems.append("trial.json is not an object")
    except RunDirError as exc:
        problems.append(f"trial.json {exc.reason}")

    samples = empty_samples()
    samples_path = path / "samples.csv.gz"
    if samples_path.exists():
        files.append(str(samples_path.relative_to(run_root)))
        try:
            samples = read_samples(samples_path)
        except RunDirError as exc:
            problems.append(f"samples.csv.gz {exc.reason}")
    else:
        problems.append("samples.csv.gz missing")

    hdr = None
    hdr_path = path / "latency.hdr"
    if hdr_path.exists():
        files.append(str(hdr_path.relative_to(run_root)))
        try:
            hdr = read_hdr(hdr_path)
        except RunDirError as exc:
            problems.append(f"latency.hdr {exc.reason}")

    resources = None
    res_path = path / "resources.csv"
    if res_path.exists():
        files.append(str(res_path.relative_to(run_root)))
        try:
            resources = read_resources(res_path)
        except RunDirError as exc:
            problems.append(f"resources.csv {exc.reason}")
    if meta_path.exists():
        files.insert(0, str(meta_path.relative_to(run_root)))
    locust_dir = path / "locust"
    if locust_dir.is_dir():
        files.extend(str(p.relative_to(run_root)) for p in sorted(locust_dir.iterdir()))
    return TrialData(
        dir_name=path.name,
        path=path,
        meta=meta,
        samples=samples,
        hdr=hdr,
        resources=resources,
        problems=tuple(problems),
        files=tuple(files),
    )


def load_run(run_dir: Path | str) -> RunData:
    """Load a run directory; raise ``RunDirError`` when it is missing or its config is corrupt."""
    root = Path(run_dir)
    if not root.exists():
        raise RunDirError(root, "run directory does not exist")
    if not root.is_dir():
        raise RunDirError(root, "not a directory")
    config = _read_json(root / "config.json", required=True)
    if not isinstance(config, dict):
        raise RunDirError(root / "config.json", "expected a JSON object")
    environment = _read_json(root / "environment.json", required=False)
    problems: list[str] = []
    if environment is None:
        problems.append("environment.json missing")
        environment = {}
    elif not isinstance(environment, dict):
        raise RunDirError(root / "environment.json", "expected a JSON object")
    ledger = None
    try:
        ledger = _read_json(root / "gateway_ledger.json", required=False)
    except RunDirError as exc:
        problems.append(f"gateway_ledger.json {exc.reason}")

    trials_dir = root / "trials"
    trial_paths = (sorted(p for p in trials_dir.iterdir() if p.is_dir())
                   if trials_dir.is_dir() else [])
    if not trial_paths:
        problems.append("no trial directories")
    trials = sorted(
        (load_trial(p, root) for p in trial_paths), key=lambda t: (t.order, t.target, t.index)
    )
    files = [name for name in ("config.json", "environment.json", "gateway_ledger.json")
             if (root / name).exists()]
    return RunData(
        path=root,
        config=config,
        environment=environment,
        trials=tuple(trials),
        ledger=ledger,
        problems=tuple(problems),
        files=tuple(files),
    )
