"""Load a run directory (its format is ``rundir``'s) into pandas.

Only this module touches the file system for reading, through ``rundir``'s readers;
everything it returns is plain data and ``rundir``'s typed documents, which
``reports.stats`` and ``reports.analysis`` work on. A damaged run directory
(no ``config.json``, unparsable JSON) raises ``RunDirError``. Damage confined to one
trial (an interrupted run leaves a truncated ``samples.csv.gz`` or no ``trial.json``)
does not: the trial is kept, its problems are listed, and the run is reported as
incomplete rather than refused.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from hdrh.histogram import HdrHistogram

from reports.errors import RunDirError
from rundir import layout
from rundir.config import RunDoc, read_run_doc
from rundir.files import read_environment, read_ledger
from rundir.jsondoc import DocError, read_json
from rundir.samples import (
    MEASURED,
    RESOURCE_COLUMNS,
    RESOURCE_REQUIRED,
    SAMPLE_COLUMNS,
    SAMPLE_REQUIRED,
    Sample,
)
from rundir.trial import TrialMeta

# Explicit dtypes keep parsing fast on million-row files and memory small.
SAMPLE_DTYPES: dict[str, str] = {name: col.dtype for name, col in SAMPLE_COLUMNS.items()}
RESOURCE_DTYPES: dict[str, str] = {name: col.dtype for name, col in RESOURCE_COLUMNS.items()}


@dataclass(frozen=True)
class TrialData:
    """One trial directory: its metadata, raw samples (warm-up rows included), HDR, CPU."""

    dir_name: str
    path: Path
    meta: TrialMeta
    samples: pd.DataFrame
    hdr: Any | None  # hdrh.histogram.HdrHistogram (untyped package)
    resources: pd.DataFrame | None
    problems: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """Target name from trial.json, else from the directory name."""
        if self.meta.target is not None:
            return self.meta.target
        parsed = layout.parse_trial_name(self.dir_name)
        return parsed[0] if parsed else self.dir_name

    @property
    def index(self) -> int:
        """1-based trial index per target."""
        if self.meta.index is not None:
            return self.meta.index
        parsed = layout.parse_trial_name(self.dir_name)
        return parsed[1] if parsed else 0

    @property
    def order(self) -> int:
        """Global 0-based position in the interleaved schedule (large when unknown)."""
        return self.meta.order if self.meta.order is not None else 1_000_000 + self.index

    @property
    def measured(self) -> pd.DataFrame:
        """Requests of the iterations that started in the measured window (``warmup`` 0;
        1 is the warm-up, 2 after the window): the only rows latency statistics use."""
        return self.samples[self.samples["warmup"] == MEASURED]


@dataclass(frozen=True)
class RunData:
    """Everything a report needs from one run directory."""

    path: Path
    config: RunDoc
    environment: dict[str, Any]
    trials: tuple[TrialData, ...]
    ledger: Any | None = None
    problems: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """Run label from config.json, else the directory name."""
        return self.config.label or self.path.name

    def target_names(self) -> list[str]:
        """Targets in config order, then any extra target that only appears in trials."""
        names: list[str] = list((self.config.targets or {}).keys())
        for trial in self.trials:
            if trial.target not in names:
                names.append(trial.target)
        return names


def empty_samples() -> pd.DataFrame:
    """A zero-row samples frame with the canonical columns and dtypes."""
    return pd.DataFrame({col: pd.Series(dtype=dt) for col, dt in SAMPLE_DTYPES.items()})


def read_samples(path: Path) -> pd.DataFrame:
    """Read ``samples.csv.gz`` with explicit dtypes; raises ``RunDirError`` if unreadable.
    A column added after the file was written gets its declared default."""
    try:
        frame = pd.read_csv(path, dtype=SAMPLE_DTYPES, engine="c")
    except (OSError, EOFError, zlib.error, ValueError, pd.errors.ParserError) as exc:
        raise RunDirError(path, f"unreadable samples ({exc})") from exc
    missing = set(SAMPLE_REQUIRED) - set(frame.columns)
    if missing:
        raise RunDirError(path, f"missing columns {sorted(missing)}")
    for name, default in Sample._field_defaults.items():
        if name not in frame.columns:
            frame[name] = pd.Series(default, index=frame.index, dtype=SAMPLE_DTYPES[name])
    return frame


def read_resources(path: Path) -> pd.DataFrame:
    """Read ``resources.csv``; raises ``RunDirError`` if unreadable."""
    try:
        frame = pd.read_csv(path, dtype=RESOURCE_DTYPES)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise RunDirError(path, f"unreadable resources ({exc})") from exc
    missing = set(RESOURCE_REQUIRED) - set(frame.columns)
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
    meta_path = path / layout.TRIAL_META
    meta = TrialMeta(target=None, index=None)
    try:
        raw = read_json(meta_path)
        if isinstance(raw, dict):
            meta = TrialMeta.from_json(raw)
        else:
            problems.append(f"{layout.TRIAL_META} is not an object")
    except DocError as exc:
        problems.append(f"{layout.TRIAL_META} {exc.reason}")

    samples = empty_samples()
    samples_path = path / layout.SAMPLES
    if samples_path.exists():
        files.append(str(samples_path.relative_to(run_root)))
        try:
            samples = read_samples(samples_path)
        except RunDirError as exc:
            problems.append(f"{layout.SAMPLES} {exc.reason}")
    else:
        problems.append(f"{layout.SAMPLES} missing")

    hdr = None
    hdr_path = path / layout.HDR
    if hdr_path.exists():
        files.append(str(hdr_path.relative_to(run_root)))
        try:
            hdr = read_hdr(hdr_path)
        except RunDirError as exc:
            problems.append(f"{layout.HDR} {exc.reason}")

    resources = None
    res_path = path / layout.RESOURCES
    if res_path.exists():
        files.append(str(res_path.relative_to(run_root)))
        try:
            resources = read_resources(res_path)
        except RunDirError as exc:
            problems.append(f"{layout.RESOURCES} {exc.reason}")
    if meta_path.exists():
        files.insert(0, str(meta_path.relative_to(run_root)))
    locust_dir = path / layout.LOCUST
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
    try:
        config = read_run_doc(root)
    except DocError as exc:
        raise RunDirError(exc.path, exc.reason) from exc
    problems: list[str] = []
    try:
        environment = read_environment(root)
    except DocError as exc:
        raise RunDirError(exc.path, exc.reason) from exc
    if environment is None:
        problems.append(f"{layout.ENVIRONMENT} missing")
        environment = {}
    ledger = None
    try:
        ledger = read_ledger(root)
    except DocError as exc:
        problems.append(f"{layout.LEDGER} {exc.reason}")

    trials_dir = layout.trials_dir(root)
    trial_paths = (sorted(p for p in trials_dir.iterdir() if p.is_dir())
                   if trials_dir.is_dir() else [])
    if not trial_paths:
        problems.append("no trial directories")
    trials = sorted(
        (load_trial(p, root) for p in trial_paths), key=lambda t: (t.order, t.target, t.index)
    )
    files = [name for name in (layout.CONFIG, layout.ENVIRONMENT, layout.LEDGER)
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
