"""``config.json``: every setting of a run, written before the first trial and rewritten as
the run learns more (the stack's URLs and versions, the capacity search's objective, the
end and whether the run completed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rundir import layout
from rundir.jsondoc import Doc, read_object, write_json


@dataclass(frozen=True, kw_only=True)
class SearchDoc(Doc):
    """How the capacity search steps (``load.search``)."""

    start: float | None = None  # first offered rate, iterations/s
    floor: float | None = None
    resolution: float | None = None  # bisection stops within this fraction
    warmup_s: float | None = None  # of each search step
    duration_s: float | None = None
    confirm_trials: int | None = None
    slo_factor: float | None = None  # derived objective: this times the unloaded p99
    unit: str | None = None


@dataclass(frozen=True, kw_only=True)
class SweepDoc(Doc):
    """The stairs of a load sweep (``load.sweep``)."""

    by: str | None = None  # "users" or "rate"
    steps: tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class LoadDoc(Doc):
    """The load every target gets (``load``); a capacity search's trials have the
    confirmation trials' lengths here and the search steps' in ``search``."""

    model: str | None = None  # "closed", "open" or "capacity"
    users: int | None = None
    rate: float | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    warmup_s: float | None = None
    trials: int | None = None  # per target (and step); None when a search decides
    scenario: str | None = None
    order: str | None = None  # interleaving: "alternate", "abba" or "shuffle"
    think_time_s: float | None = None
    processes: int | None = None
    open_late_ms: float | None = None
    open_drop_after_ms: float | None = None
    open_max_behind: float | None = None
    drain_s: float | None = None
    search: SearchDoc | None = None
    sweep: SweepDoc | None = None

    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"search", "sweep"})


@dataclass(frozen=True, kw_only=True)
class SloDoc(Doc):
    """The run's service-level objective (``slo``), from ``--slo``."""

    spec: str | None = None  # as given, e.g. "p99<500ms,errors<1%"
    p99_ms: float | None = None
    error_ratio: float | None = None

    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"spec", "p99_ms", "error_ratio"})


@dataclass(frozen=True, kw_only=True)
class ObjectiveDoc(Doc):
    """The latency objective a capacity search measured every target at (``objective``)."""

    p99_ms: float | None = None
    error_ratio: float | None = None
    source: str | None = None  # "given" (--slo) or "derived"
    basis_ms: float | None = None  # the unloaded p99 it was derived from
    basis_target: str | None = None
    factor: float | None = None
    explanation: str | None = None


@dataclass(frozen=True, kw_only=True)
class SweptObjectiveDoc(ObjectiveDoc):
    """The objective at one gateway setting of a swept capacity search (``objectives``)."""

    gateway_profile: str | None = None
    gateway_latency_ms: float | None = None

    @classmethod
    def at(cls, objective: ObjectiveDoc, *, gateway_profile: str | None,
           gateway_latency_ms: float | None) -> SweptObjectiveDoc:
        """``objective`` as found at one gateway setting."""
        return cls(p99_ms=objective.p99_ms, error_ratio=objective.error_ratio,
                   source=objective.source, basis_ms=objective.basis_ms,
                   basis_target=objective.basis_target, factor=objective.factor,
                   explanation=objective.explanation, gateway_profile=gateway_profile,
                   gateway_latency_ms=gateway_latency_ms)


@dataclass(frozen=True, kw_only=True)
class ProfileSweepDoc(Doc):
    """The gateway profiles a sweep visits (``profile_sweep``)."""

    profiles: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class GatewaySweepDoc(Doc):
    """The gateway latencies a sweep visits (``gateway_sweep``)."""

    latencies_ms: tuple[float, ...] | None = None  # median of the swept call
    call: str | None = None  # the call whose latency is swept
    p99_factor: float | None = None  # its p99 is this times the median

    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"call", "p99_factor"})


@dataclass(frozen=True, kw_only=True)
class ConfigFileDoc(Doc):
    """The config file a run read its settings from (``settings_from.file``)."""

    path: str | None = None
    values: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class SettingsFromDoc(Doc):
    """The settings the environment and the config file gave (``settings_from``), which
    the command line alone does not show."""

    env: dict[str, str] | None = None  # PAYBENCH_* variables (passwords redacted)
    file: ConfigFileDoc | None = None


@dataclass(kw_only=True)
class RunDoc(Doc):
    """The content of ``config.json`` of a ``paybench run`` or ``paybench sweep``.

    Mutable: the runner rewrites it as the run goes. ``recorded`` is the JSON object as
    read from disk (empty for a document built in memory): the report repeats the load
    settings exactly as recorded, and a comparison of two runs tells a setting an older
    run did not record from one recorded as null.
    """

    label: str | None = None
    kind: str | None = None  # "run" or "sweep"
    targets: dict[str, dict[str, Any]] | None = None  # per target: url, workers, pool, ...
    load: LoadDoc | None = None
    gateway_profile: str | None = None
    gateway_timeout_s: float | None = None
    seed: int | None = None
    merchants: int | None = None
    database: str | None = None  # URL (password redacted) or "embedded"
    redis: str | None = None
    baseline: str | None = None  # the target the others are compared with
    schedule: tuple[str, ...] | None = None  # trial folders planned (None: a search decides)
    command: tuple[str, ...] | None = None
    settings_from: SettingsFromDoc | None = None
    knobs: dict[str, Any] | None = None  # every setting's effective value
    complete: bool | None = None  # False until the runner finished
    started_at: float | None = None
    slo: SloDoc | None = None
    profile_sweep: ProfileSweepDoc | None = None
    gateway_sweep: GatewaySweepDoc | None = None
    gateway: dict[str, Any] | None = None  # the simulator's effective profile
    objective: ObjectiveDoc | None = None
    objectives: tuple[SweptObjectiveDoc, ...] | None = None  # per gateway setting of a sweep
    skipped: tuple[str, ...] | None = None  # planned trials a sweep skipped on purpose
    ended_at: float | None = None
    incomplete_reason: str | None = None
    recorded: dict[str, Any] = field(default_factory=dict, init=False, repr=False,
                                     compare=False)

    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({
        "slo", "profile_sweep", "gateway_sweep", "gateway", "objective", "objectives",
        "skipped", "ended_at", "incomplete_reason"})


@dataclass(frozen=True, kw_only=True)
class ShadowRunDoc(Doc):
    """The content of ``config.json`` of a ``paybench shadow run``."""

    label: str
    kind: str = "shadow"
    sides: dict[str, str]  # side ("primary", "candidate", "secondary") -> target
    targets: dict[str, Any]  # the stack's description of each target
    gateway_profile: str
    seed: int
    rate: float  # replay rate, requests/s (0: as fast as answered)
    payments: int  # payments of the generated workload
    rules: dict[str, Any]  # the diff's normalisation rules


def write_run_doc(run_dir: Path, doc: RunDoc) -> None:
    """Write ``config.json`` (atomically: it is rewritten while the run goes)."""
    write_json(run_dir / layout.CONFIG, doc.to_json())


def write_shadow_run_doc(run_dir: Path, doc: ShadowRunDoc) -> None:
    """Write a shadow run's ``config.json`` (values JSON does not know, such as paths in
    the rules, are written as text)."""
    write_json(run_dir / layout.CONFIG, doc.to_json(), default=str)


def read_run_doc(run_dir: Path) -> RunDoc:
    """Read ``config.json``; ``DocError`` if it is missing, corrupt or not an object."""
    raw = read_object(run_dir / layout.CONFIG)
    doc = RunDoc.from_json(raw)
    doc.recorded = raw
    return doc


@dataclass
class RunDocFile:
    """A run's ``config.json`` while the run goes: change ``doc``, then ``save`` it."""

    run_dir: Path
    doc: RunDoc

    def save(self) -> None:
        """Rewrite ``config.json`` with the document as it is now."""
        write_run_doc(self.run_dir, self.doc)
