"""Compare two runs target by target: what changed, and whether it is significant.

``compare_runs`` is what ``paybench compare RUN_A RUN_B [--fail-on SPEC] [--slo SPEC]``
calls (through ``reports.cli_commands.compare_command``). Run A is the reference, run B
the new one. Changes are relative (B/A - 1) except the error ratio, whose change is the
absolute difference (a rise from 0 % has no relative size). Comparing runs only makes
sense on the same machine and settings: differences in the recorded environment are
listed as a warning, and so are differences in anything that changes the load (model,
users, rate, scenario, durations, workers, pool, gateway, targets, search settings...);
regression gates refuse to judge runs whose load differs unless forced. A gate trips only
on a significant change (Mann-Whitney U) unless asked to trip on the median change alone.
Where the time goes (``reports.anatomy``) is compared part by part, without gates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports import anatomy, stats
from reports import format as fmt
from reports.gates import (
    GateResult,
    RegressionGate,
    SloGate,
    evaluate_regression,
    evaluate_slo,
    parse_regression,
    parse_slo,
)
from reports.load import load_run
from reports.render import build_results, jsonable
from rundir.config import RunDoc

COMPARED_METRICS: tuple[str, ...] = (
    "throughput_rps", "goodput_rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms",
    "error_ratio", "cpu_per_1k_target",
)
ABSOLUTE_METRICS = frozenset({"error_ratio"})
# Machine-level facts in environment.json whose change makes two runs incomparable.
ENVIRONMENT_KEYS: tuple[tuple[str, ...], ...] = (
    ("machine", "cpu_model"), ("machine", "cpu_count_logical"), ("machine", "cpu_affinity"),
    ("machine", "memory_total_bytes"), ("python", "version"), ("python", "implementation"),
    ("servers", "postgres", "version"), ("servers", "postgres", "settings"),
    ("servers", "redis", "version"), ("packages", "locust"), ("load_generator", "processes"),
)
# Settings in config.json that change the load a target gets; the number of trials and
# their order change how precise a figure is, not what it measures, so they are not here.
# Each path names fields of rundir.config.RunDoc (tests/rundir checks that they do).
LOAD_KEYS: tuple[tuple[str, ...], ...] = (
    ("kind",), ("load", "model"), ("load", "users"), ("load", "rate"), ("load", "spawn_rate"),
    ("load", "scenario"), ("load", "duration_s"), ("load", "warmup_s"), ("load", "drain_s"),
    ("load", "think_time_s"), ("load", "processes"), ("load", "open_late_ms"),
    ("load", "open_drop_after_ms"), ("load", "open_max_behind"), ("load", "search"),
    ("load", "sweep"), ("gateway_profile",), ("gateway_timeout_s",), ("gateway",),
    ("gateway_sweep",), ("profile_sweep",), ("merchants",), ("slo",),
    ("knobs", "reconcile_interval_s"), ("knobs", "locustfile"),
)
TARGET_KEYS = ("workers", "pool", "external")
# config.json's ``knobs`` hold every run setting as resolved. Each one is compared too unless
# it is named here: where the run goes, how precise its figures are (trials and their order),
# the harness's own timeouts, the simulator's seed, and the external targets' addresses (two
# deployments of one service are what a comparison is for). A new setting is compared by
# default.
KNOBS_NOT_LOAD = frozenset({
    "label", "out", "database_url", "redis_url", "target_urls", "api_keys", "seed",
    "trials", "order", "confirm_trials", "step_trials", "idle_timeout_s", "stop_timeout_s",
})
# knobs already compared through a LOAD_KEYS path or TARGET_KEYS: not said twice
KNOBS_COMPARED_ELSEWHERE = frozenset(
    {path[-1] for path in LOAD_KEYS}
    | {"model", "load_model", "targets", "workers", "db_pool_size", "slo_factor"}
)
KNOB_PREFIXES_COMPARED_ELSEWHERE = ("search_", "sweep_", "step_")
_MISSING = object()


@dataclass(frozen=True)
class RunComparison:
    """Run B against run A: per-target changes, gate outcomes and warnings; ``refused``
    says why the regression gates were not evaluated (the runs' load differs)."""

    run_a: Path
    run_b: Path
    changes: dict[str, dict[str, dict[str, Any]]]
    gates: list[GateResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    config_differences: list[str] = field(default_factory=list)
    refused: str | None = None
    composition: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no gate tripped (the CLI exits 1 otherwise)."""
        return all(g.passed for g in self.gates)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = jsonable({
            "run_a": str(self.run_a), "run_b": str(self.run_b), "changes": self.changes,
            "gates": [g.as_dict() for g in self.gates], "passed": self.passed,
            "warnings": self.warnings, "config_differences": self.config_differences,
            "refused": self.refused, "composition": self.composition,
        })
        return out


def _dig(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def environment_differences(env_a: dict[str, Any], env_b: dict[str, Any]) -> list[str]:
    """Machine-level settings that differ between two runs."""
    diffs: list[str] = []
    for keys in ENVIRONMENT_KEYS:
        a, b = _dig(env_a, keys), _dig(env_b, keys)
        if a != b and a is not None and b is not None:
            diffs.append(f"{'.'.join(keys)}: {_short(a)} -> {_short(b)}")
    return diffs


def _used(results: dict[str, Any], target: str) -> list[dict[str, Any]]:
    names = set(results["targets"][target]["summary_trials"])
    return [t for t in results["trials"] if t["trial"] in names]


def _get(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def config_differences(config_a: RunDoc, config_b: RunDoc) -> list[str]:
    """Settings that change the load and differ between two runs' config.json (a setting
    an older run did not record is not compared)."""
    diffs: list[str] = []
    for keys in LOAD_KEYS:
        # as recorded: a key an older run lacks is not the same as one recorded as null
        a, b = _get(config_a.recorded, keys), _get(config_b.recorded, keys)
        if a is not _MISSING and b is not _MISSING and a != b:
            diffs.append(f"{'.'.join(keys)}: {_short(a)} -> {_short(b)}")
    knobs_a = _get(config_a.recorded, ("knobs",))
    knobs_b = _get(config_b.recorded, ("knobs",))
    if isinstance(knobs_a, dict) and isinstance(knobs_b, dict):
        for name in sorted(set(knobs_a) & set(knobs_b)):
            if (name in KNOBS_NOT_LOAD or name in KNOBS_COMPARED_ELSEWHERE
                    or name.startswith(KNOB_PREFIXES_COMPARED_ELSEWHERE)):
                continue
            if knobs_a[name] != knobs_b[name]:
                diffs.append(f"knobs.{name}: {_short(knobs_a[name])} -> {_short(knobs_b[name])}")
    targets_a = config_a.targets or {}
    targets_b = config_b.targets or {}
    if targets_a and targets_b and set(targets_a) != set(targets_b):
        diffs.append(f"targets: {', '.join(targets_a)} -> {', '.join(targets_b)}")
    for name in [t for t in targets_a if t in targets_b]:
        for key in TARGET_KEYS:
            a, b = _get(targets_a[name], (key,)), _get(targets_b[name], (key,))
            if a is not _MISSING and b is not _MISSING and a != b:
                diffs.append(f"targets.{name}.{key}: {_short(a)} -> {_short(b)}")
    return diffs


def _values(trials: list[dict[str, Any]], key: str) -> list[float]:
    return [float(t[key]) for t in trials if t.get(key) is not None]


def compare_results(res_a: dict[str, Any], res_b: dict[str, Any]) -> dict[str, Any]:
    """Per target present in both, per metric: A and B medians, change, interval, test."""
    changes: dict[str, Any] = {}
    for target in res_a["targets"]:
        if target not in res_b["targets"]:
            continue
        # the trials each run's summary used (at capacity in a capacity search)
        ta = _used(res_a, target)
        tb = _used(res_b, target)
        metrics: dict[str, Any] = {}
        for key in COMPARED_METRICS:
            va, vb = _values(ta, key), _values(tb, key)
            med_a = res_a["targets"][target]["summary"][key]["median"]
            med_b = res_b["targets"][target]["summary"][key]["median"]
            sig = stats.mann_whitney(vb, va)
            entry: dict[str, Any] = {"a": med_a, "b": med_b, "p_value": sig.p_value,
                                     "significant": sig.significant,
                                     "significance": sig.reason, "n_a": len(va), "n_b": len(vb),
                                     "kind": "absolute" if key in ABSOLUTE_METRICS else "relative"}
            if med_a is None or med_b is None:
                entry.update(change=None, low=None, high=None)
            elif key in ABSOLUTE_METRICS:
                entry.update(change=med_b - med_a, low=None, high=None)
            else:
                ratio = stats.ratio_interval(vb, va)
                entry.update(change=ratio.ratio - 1.0, low=ratio.low - 1.0,
                             high=ratio.high - 1.0)
            metrics[key] = entry
        info_a = (res_a.get("capacity") or {}).get(target) or {}
        info_b = (res_b.get("capacity") or {}).get(target) or {}
        cap_a, cap_b = info_a.get("max_sustainable_rps"), info_b.get("max_sustainable_rps")
        if cap_a is not None and cap_b is not None:
            metrics["max_sustainable_rps"] = _capacity_change(info_a, info_b)
        changes[target] = metrics
    out: dict[str, Any] = jsonable(changes)
    return out


def _capacity_change(info_a: dict[str, Any], info_b: dict[str, Any]) -> dict[str, Any]:
    """The capacity's change: tested over the trials that held each capacity (a capacity
    search confirms it several times); a stairs sweep has one step, so no test."""
    cap_a, cap_b = info_a["max_sustainable_rps"], info_b["max_sustainable_rps"]
    va = [float(v) for v in info_a.get("completed_at_capacity") or []]
    vb = [float(v) for v in info_b.get("completed_at_capacity") or []]
    entry: dict[str, Any] = {"a": cap_a, "b": cap_b,
                             "change": cap_b / cap_a - 1.0 if cap_a else None, "low": None,
                             "high": None, "p_value": None, "significant": False,
                             "significance": "single sweep", "n_a": len(va) or 1,
                             "n_b": len(vb) or 1, "kind": "relative"}
    if len(va) >= 2 and len(vb) >= 2:
        sig = stats.mann_whitney(vb, va)
        ratio = stats.ratio_interval(vb, va)
        entry.update(p_value=sig.p_value, significant=sig.significant,
                     significance=sig.reason, low=ratio.low - 1.0, high=ratio.high - 1.0)
    return entry


def compare_runs(
    run_a: Path | str,
    run_b: Path | str,
    *,
    fail_on: str | list[RegressionGate] | None = None,
    slo: str | list[SloGate] | None = None,
    allow_config_mismatch: bool = False,
    gate_insignificant: bool = False,
) -> RunComparison:
    """Compare run B against run A; evaluate regression gates and SLO gates (on run B).

    Called by ``paybench compare RUN_A RUN_B --fail-on p99:10%,throughput:5% --slo ...``.
    Regression gates are not evaluated (``refused`` says why) when the runs' load settings
    differ, unless ``allow_config_mismatch``; they trip only on significant changes unless
    ``gate_insignificant``. Raises ``RunDirError`` for an unusable run directory and
    ``GateSpecError`` (a ValueError) for a malformed gate spec.
    """
    reg_gates = parse_regression(fail_on) if isinstance(fail_on, str) else (fail_on or [])
    slo_gates = parse_slo(slo) if isinstance(slo, str) else (slo or [])
    data_a, data_b = load_run(run_a), load_run(run_b)
    res_a, res_b = build_results(data_a), build_results(data_b)
    changes = compare_results(res_a, res_b)
    warnings: list[str] = []
    diffs = environment_differences(data_a.environment, data_b.environment)
    if diffs:
        warnings.append("environments differ, so the comparison mixes machines: "
                        + "; ".join(diffs))
    load_diffs = config_differences(data_a.config, data_b.config)
    if load_diffs:
        warnings.append("the runs were made with different load settings, so a change may "
                        "be the settings' doing: " + "; ".join(load_diffs))
    only = sorted(set(res_a["targets"]) ^ set(res_b["targets"]))
    if only:
        warnings.append(f"targets in only one run are not compared: {', '.join(only)}")
    for label, res in (("A", res_a), ("B", res_b)):
        if not res["complete"]:
            warnings.append(f"run {label} is incomplete: {'; '.join(res['incomplete_reasons'])}")
    refused = None
    if reg_gates and load_diffs and not allow_config_mismatch:
        refused = ("the runs' load settings differ (" + "; ".join(load_diffs) + "), so a "
                   "regression gate would judge the settings, not the code")
        reg_gates = []
    gates = evaluate_regression(changes, reg_gates, significant_only=not gate_insignificant)
    gates += [GateResult(g.spec, f"{g.target} (run B)", g.value, g.passed, g.detail)
              for g in evaluate_slo(res_b, slo_gates)]
    return RunComparison(data_a.path, data_b.path, changes, gates, warnings, load_diffs,
                         refused, anatomy.compare(res_a, res_b))


def _change(entry: dict[str, Any]) -> str:
    change = entry["change"]
    if change is None or not math.isfinite(change):
        return "-"
    if entry["kind"] == "absolute":
        return f"{change * 100:+.2f} pp"
    text = f"{change:+.1%}"
    if entry["low"] is not None and entry["high"] is not None:
        text += f" [{entry['low']:+.1%}, {entry['high']:+.1%}]"
    return text


def format_comparison(cmp: RunComparison) -> str:
    """Plain-text table for the CLI: per target and metric, A, B, change, significance."""
    rows: list[tuple[str, ...]] = [("target", "metric", "A", "B", "change [95% CI]", "")]
    for target, metrics in cmp.changes.items():
        for key, e in metrics.items():
            show = fmt.pct if key == "error_ratio" else fmt.num
            if e["significant"]:
                mark = "p<0.001" if e["p_value"] < 0.001 else f"p={e['p_value']:.3f}"
            elif e["p_value"] is None or not math.isfinite(e["p_value"]):
                mark = f"~ ({e['significance']})"
            elif e["significance"] == "too few trials":
                mark = "~ (too few trials)"
            else:
                mark = f"~ (p={e['p_value']:.2f})"
            rows.append((target, key, show(e["a"]), show(e["b"]), _change(e), mark))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("~ = not significant (Mann-Whitney U, alpha 0.05)")
    lines.extend(anatomy.format_changes(cmp.composition))
    lines.extend(f"warning: {w}" for w in cmp.warnings)
    if cmp.refused:
        lines.append(f"regression gates not evaluated: {cmp.refused}")
    for g in cmp.gates:
        lines.append(f"gate {'pass' if g.passed else 'FAILED'}: {g.spec} on {g.target}: "
                     f"{g.detail}")
    return "\n".join(lines)
