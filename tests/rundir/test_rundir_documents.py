"""The typed JSON documents of a run directory: their keys, their writer and their reader."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from reports.compare import LOAD_KEYS
from rundir import layout
from rundir.config import (
    LoadDoc,
    ObjectiveDoc,
    RunDoc,
    ShadowRunDoc,
    SloDoc,
    SweptObjectiveDoc,
    read_run_doc,
    write_run_doc,
    write_shadow_run_doc,
)
from rundir.jsondoc import Doc, DocError, read_object
from rundir.parts import OpenCounts, PartDoc, read_part_summaries, write_part_summary
from rundir.trial import TrialMeta, read_trial_meta, write_trial_meta

# trial.json as the trial runner writes it: renaming or moving a key changes the format of
# every run directory, so this list changes only with a deliberate change of the format
TRIAL_KEYS = [
    "target", "index", "order", "model", "users", "rate", "step", "offered", "phase",
    "aborted", "scenario", "warmup_s", "duration_s", "started_at", "launched_at", "ended_at",
    "valid", "invalid_reasons", "complete", "window_start", "window_end", "drain_s",
    "late_starts", "dropped_starts", "late_queued", "dropped_queued", "scheduled_starts",
    "max_start_lag_ms", "timed_out", "completed_in_window", "ok_in_window",
    "iterations_started", "iterations_completed", "iterations_failed",
    "iterations_unfinished", "cpu_warning", "locust_cpu_max", "requests",
    "requests_measured", "failures", "gateway_profile", "gateway_latency_ms", "processes",
    "idle_wait_s",
]
# config.json of a run, with every optional key set, in the order the runner adds them
CONFIG_KEYS = [
    "label", "kind", "targets", "load", "gateway_profile", "gateway_timeout_s", "seed",
    "merchants", "database", "redis", "baseline", "schedule", "command", "settings_from",
    "knobs", "complete", "started_at", "slo", "profile_sweep", "gateway_sweep", "gateway",
    "objective", "objectives", "skipped", "ended_at", "incomplete_reason",
]


def _declared(hint: Any) -> Any:
    """The type of an ``X | None`` field (``X``), or the field's type."""
    if isinstance(hint, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _filled(cls: type[Doc]) -> Any:
    """An instance of ``cls`` with every field set to a value of its declared type."""
    samples: dict[Any, Any] = {int: 3, float: 2.5, str: "x", bool: True}
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        hint = _declared(hints[f.name])
        origin = typing.get_origin(hint)
        if origin is tuple:
            arg = typing.get_args(hint)[0]
            values[f.name] = (_filled(arg),) if isinstance(arg, type) and issubclass(
                arg, Doc) else (samples[arg],)
        elif origin is dict:
            arg = typing.get_args(hint)[1]
            values[f.name] = {"k": "v" if arg is str else {"v": 1}}
        elif isinstance(hint, type) and issubclass(hint, Doc):
            values[f.name] = _filled(hint)
        else:
            values[f.name] = samples[hint]
    return cls(**values)


def test_trial_json_has_the_runner_s_keys_in_order(tmp_path: Path) -> None:
    """A trial.json holds exactly the runner's keys in its order; merged_by_hand only
    when set."""
    write_trial_meta(tmp_path, TrialMeta(target="a", index=1))
    assert list(read_object(tmp_path / layout.TRIAL_META)) == TRIAL_KEYS
    merged = TrialMeta(target="a", index=1, merged_by_hand=True).to_json()
    assert list(merged) == [*TRIAL_KEYS, "merged_by_hand"]


def test_config_json_keys_in_order() -> None:
    """config.json's keys come in the order the runner adds them; the optional ones are
    absent until set."""
    assert list(_filled(RunDoc).to_json()) == CONFIG_KEYS
    assert list(RunDoc().to_json()) == CONFIG_KEYS[:CONFIG_KEYS.index("slo")]


@pytest.mark.parametrize("cls", [TrialMeta, RunDoc, PartDoc, ShadowRunDoc])
def test_documents_read_back_what_was_written(tmp_path: Path, cls: type[Doc]) -> None:
    """Every field survives a write and a read, nested documents included."""
    doc = _filled(cls)
    text = json.dumps(doc.to_json())
    assert cls.from_json(json.loads(text)) == doc


def test_missing_and_mistyped_values_read_as_none() -> None:
    """An older or damaged file loads: a missing key, or a value of the wrong type, is None;
    an integer where a float is declared stays an integer, so it is written back as read."""
    meta = TrialMeta.from_json({"target": "a", "index": "2", "order": True, "rate": 10,
                                "valid": 1, "invalid_reasons": ["x", 3], "unknown": 1})
    assert (meta.target, meta.index, meta.order, meta.valid) == ("a", None, None, None)
    assert meta.invalid_reasons is None
    assert meta.rate == 10
    assert isinstance(meta.rate, int)
    assert meta.complete is None


def test_nested_documents_and_lists_are_typed() -> None:
    """JSON objects become the declared documents and arrays tuples."""
    doc = RunDoc.from_json({"load": {"model": "open", "sweep": {"by": "rate", "steps": [1, 2.5]}},
                            "slo": {"p99_ms": 300}, "schedule": ["a-1", "b-1"],
                            "objectives": [{"p99_ms": 5.0, "gateway_latency_ms": None}]})
    assert doc.load is not None
    assert doc.load.sweep is not None
    assert doc.load.sweep.steps == (1, 2.5)
    assert doc.slo == SloDoc(p99_ms=300)
    assert doc.schedule == ("a-1", "b-1")
    assert doc.objectives == (SweptObjectiveDoc(p99_ms=5.0),)


def test_run_doc_keeps_the_object_as_recorded(tmp_path: Path) -> None:
    """read_run_doc keeps the JSON object as read (a key an older run lacks stays absent),
    and a document written and read again is the same document."""
    raw = {"label": "old", "load": {"model": "closed", "users": 4}, "extra": [1]}
    (tmp_path / layout.CONFIG).write_text(json.dumps(raw))
    doc = read_run_doc(tmp_path)
    assert doc.recorded == raw
    assert doc.load == LoadDoc(model="closed", users=4)
    write_run_doc(tmp_path, doc)
    again = read_run_doc(tmp_path)
    assert again == doc
    assert "extra" not in again.recorded


def test_swept_objective_copies_the_objective() -> None:
    """An objective recorded at one gateway setting keeps every field of the objective."""
    objective = _filled(ObjectiveDoc)
    swept = SweptObjectiveDoc.at(objective, gateway_profile="fast", gateway_latency_ms=None)
    assert swept.to_json() == {**objective.to_json(), "gateway_profile": "fast",
                               "gateway_latency_ms": None}


def test_shadow_config_writes_paths_as_text(tmp_path: Path) -> None:
    """A shadow run's config.json writes values JSON does not know (paths) as text."""
    write_shadow_run_doc(tmp_path, ShadowRunDoc(
        label="s", sides={"primary": "legacy"}, targets={"legacy": {"log": Path("/x")}},
        gateway_profile="fast", seed=1, rate=0.0, payments=3, rules={"paths": ["/a"]}))
    doc = read_object(tmp_path / layout.CONFIG)
    assert doc["kind"] == "shadow"
    assert doc["targets"] == {"legacy": {"log": "/x"}}


def test_part_summary_round_trip(tmp_path: Path) -> None:
    """A process's counters are written as <part>.json and read back; role, open-model
    counts and the abort reason only when there are some."""
    closed = PartDoc(part="worker0", requests=3, role="worker0")
    opened = PartDoc(part="worker1", requests=4, open=OpenCounts(scheduled=5, max_lag_ms=1.5),
                     aborted="missed the objective")
    for doc in (closed, opened):
        write_part_summary(tmp_path, doc)
    assert "open" not in closed.to_json()
    assert "aborted" not in closed.to_json()
    assert [d for _, d in read_part_summaries(tmp_path)] == [closed, opened]


def test_unreadable_documents_raise_doc_error(tmp_path: Path) -> None:
    """A missing, corrupt or non-object trial.json is a DocError saying which."""
    with pytest.raises(DocError, match="missing"):
        read_trial_meta(tmp_path)
    (tmp_path / layout.TRIAL_META).write_text("{not json")
    with pytest.raises(DocError, match="corrupt JSON"):
        read_trial_meta(tmp_path)
    (tmp_path / layout.TRIAL_META).write_text("[]")
    with pytest.raises(DocError, match="expected a JSON object"):
        read_trial_meta(tmp_path)


def test_compared_settings_name_declared_keys() -> None:
    """Every config.json path the run comparison looks at is a field of the documents (down
    to a free-form object such as the knobs), so a renamed key cannot silently drop out of
    the comparison."""
    for path in LOAD_KEYS:
        cls: Any = RunDoc
        for key in path:
            if cls is None:  # inside a free-form object
                break
            hints = typing.get_type_hints(cls)
            assert key in hints, path
            declared = _declared(hints[key])
            cls = declared if isinstance(declared, type) and issubclass(declared, Doc) else None
