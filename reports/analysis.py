"""Turn a loaded run into the results document (the content of ``results.json``).

This is the one place that decides *which* numbers a report shows: per-trial figures,
per-target medians with intervals over valid trials, ratios between targets with
bootstrap intervals and a significance test, capacity from a load sweep, the gateway
latency sweep, completeness, and the one-sentence verdict. Rendering only formats
what is here, so every number in report.html is also in results.json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reports import stats
from reports.load import TIMED_OUT, RunData, TrialData

SUMMARY_METRICS: tuple[str, ...] = (
    "throughput_rps", "goodput_rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms",
    "max_ms", "mean_ms", "error_ratio", "cpu_per_1k_target", "cpu_per_1k_all",
)
RESULTS_SCHEMA = 1


@dataclass(frozen=True)
class Slo:
    """The service-level objective the capacity search uses."""

    p99_ms: float = 500.0
    error_ratio: float = 0.01

    def as_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {"p99_ms": self.p99_ms, "error_ratio": self.error_ratio}


def slo_from_config(config: dict[str, Any]) -> Slo:
    """``config.json``'s optional ``"slo": {"p99_ms", "error_ratio"}``, else the defaults."""
    raw = config.get("slo")
    if not isinstance(raw, dict):
        return Slo()
    default = Slo()
    p99 = raw.get("p99_ms", default.p99_ms)
    err = raw.get("error_ratio", default.error_ratio)
    return Slo(float(p99), float(err))


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _clean(value: float) -> float | None:
    """NaN and inf become null in JSON."""
    return value if math.isfinite(value) else None


def analyse_trial(trial: TrialData, role: str | None = None) -> dict[str, Any]:
    """Every per-trial figure; validity combines the runner's verdict with load problems.

    ``role`` names the target's processes in resources.csv (default: the target name).

    Latency and errors describe the requests of the iterations that *started* in the
    measured window, each followed to its end (through the drain); throughput is what the
    target *completed* inside the window, whenever it started, so it can never exceed
    what the target served.
    """
    meta = trial.meta
    meas = trial.measured
    window_known = _num(meta.get("window_start")) is not None and _num(
        meta.get("window_end")) is not None
    if window_known:
        start, end = float(meta["window_start"]), float(meta["window_end"])
    else:  # runs recorded before the trial clock existed
        start, end = stats.measured_window(
            meas["t"].to_numpy(dtype=np.float64), started_at=_num(meta.get("started_at")),
            ended_at=_num(meta.get("ended_at")), warmup_s=_num(meta.get("warmup_s")),
            duration_s=_num(meta.get("duration_s")),
        )
        if math.isfinite(end):  # requests started after the window are not part of it
            meas = meas[meas["t"] <= end]
    lat = meas["latency_ms"].to_numpy(dtype=np.float64)
    window = end - start if math.isfinite(end - start) else math.nan
    n = len(meas)
    ok = int(meas["ok"].sum())
    pct = stats.latency_percentiles(lat)
    done, done_ok = stats.completions(
        trial.samples["t"].to_numpy(dtype=np.float64),
        trial.samples["latency_ms"].to_numpy(dtype=np.float64),
        trial.samples["ok"].to_numpy(dtype=np.int8),
        start=start, end=end)
    timed_out = int((meas["name"].astype(str) == TIMED_OUT).sum())
    growth = stats.latency_growth(meas["t"].to_numpy(dtype=np.float64), lat,
                                  start=start, end=end)
    iterations = _num(meta.get("iterations_completed"))

    cpu_roles: dict[str, float] = {}
    if trial.resources is not None and len(trial.resources) and math.isfinite(window):
        res = trial.resources
        cpu_roles = stats.cpu_by_role(
            t=res["t"].to_numpy(), role=res["role"].astype(str).to_numpy(),
            pid=res["pid"].to_numpy(), cpu_s=res["cpu_s"].to_numpy(), start=start, end=end)
    target_cpu = cpu_roles.get(role or trial.target, math.nan)
    all_cpu = sum(cpu_roles.values()) if cpu_roles else math.nan

    reasons = [str(r) for r in meta.get("invalid_reasons") or []]
    runner_valid = meta.get("valid") is True
    if not runner_valid and not reasons:
        reasons.append("marked invalid by the runner" if "valid" in meta else "validity unknown")
    extra = list(trial.problems)
    complete = meta.get("complete") is True and not trial.problems
    if meta.get("complete") is False:
        extra.append("trial did not complete")
    if meta.get("cpu_warning") is True and not any("cpu" in r.lower() for r in reasons):
        extra.append("load generator CPU warning (above 90%)")
    if n == 0:
        extra.append("no measured samples")
    reasons.extend(r for r in extra if r not in reasons)
    valid = runner_valid and not extra and meta.get("cpu_warning") is not True

    failed = meas.loc[meas["ok"] == 0, "status"]
    errors_by_status = {str(k): int(v) for k, v in failed.value_counts().sort_index().items()}
    return {
        "trial": trial.dir_name,
        "target": trial.target,
        "index": trial.index,
        "order": meta.get("order"),
        "valid": valid,
        "invalid_reasons": reasons if not valid else [],
        "complete": complete,
        "model": meta.get("model"),
        "users": meta.get("users"),
        "rate": meta.get("rate"),
        "step": meta.get("step"),
        "offered": meta.get("offered"),
        "phase": meta.get("phase"),
        "gateway_latency_ms": meta.get("gateway_latency_ms"),
        "scenario": meta.get("scenario"),
        "started_at": meta.get("started_at"),
        "ended_at": meta.get("ended_at"),
        "window_start": _clean(start),
        "window_s": _clean(window),
        "requests": n,
        "ok_requests": ok,
        "warmup_requests": int((trial.samples["warmup"] != 0).sum()),
        "completed_in_window": done,
        "throughput_rps": _clean(stats.rate(done, window)),
        "goodput_rps": _clean(stats.rate(done_ok, window)),
        "iterations_rps": _clean(stats.rate(int(iterations), window))
        if iterations is not None else None,
        "offered_rps": _num(meta.get("rate")),
        "error_ratio": _clean((n - ok) / n if n else math.nan),
        "timed_out": timed_out,
        **{f"{k}_ms": _clean(v) for k, v in pct.items()},
        "latency_growth": {k: _clean(v) for k, v in growth.items()},
        "errors_by_status": errors_by_status,
        "late_starts": int(meta.get("late_starts") or 0),
        "dropped_starts": int(meta.get("dropped_starts") or 0),
        "late_queued": int(meta.get("late_queued") or 0),
        "dropped_queued": int(meta.get("dropped_queued") or 0),
        "scheduled_starts": int(meta.get("scheduled_starts") or 0),
        "cpu_warning": bool(meta.get("cpu_warning")),
        "cpu_s_by_role": cpu_roles,
        "cpu_per_1k_target": _clean(stats.per_thousand(target_cpu, done)),
        "cpu_per_1k_all": _clean(stats.per_thousand(all_cpu, done)),
        "has_hdr": trial.hdr is not None,
        "files": list(trial.files),
    }


def _values(trials: list[dict[str, Any]], key: str) -> list[float]:
    return [float(t[key]) if t.get(key) is not None else math.nan for t in trials]


def _interval_dict(values: list[float]) -> dict[str, Any]:
    iv = stats.median_interval(values)
    return {"median": _clean(iv.median), "low": _clean(iv.low), "high": _clean(iv.high),
            "confidence": iv.confidence, "n": iv.n}


def _is_plain(trial: dict[str, Any]) -> bool:
    return (trial.get("step") is None and trial.get("gateway_latency_ms") is None
            and not trial.get("profile_swept"))


def headline_trials(trials: list[dict[str, Any]], target: str) -> list[dict[str, Any]]:
    """Valid trials of ``target`` that the headline figures use.

    Plain trials when the run has any; a pure sweep has none, and then every valid
    trial is used (the report says the figures span all steps).
    """
    own = [t for t in trials if t["target"] == target and t["valid"]]
    plain = [t for t in own if _is_plain(t)]
    return plain if plain or not own else own


def _endpoint_table(run: RunData, target: str, valid_names: set[str]) -> list[dict[str, Any]]:
    frames = [t.measured[["name", "latency_ms", "ok"]] for t in run.trials
              if t.target == target and t.dir_name in valid_names]
    if not frames:
        return []
    df = pd.concat(frames, ignore_index=True)
    df["name"] = df["name"].astype(str)
    rows: list[dict[str, Any]] = []
    for name, group in df.groupby("name", sort=True):
        lat = group["latency_ms"].to_numpy(dtype=np.float64)
        p = np.percentile(lat, [50, 99]) if lat.size else [math.nan, math.nan]
        rows.append({"name": str(name), "requests": int(lat.size), "p50_ms": _clean(float(p[0])),
                     "p99_ms": _clean(float(p[1])),
                     "error_ratio": _clean(float(1.0 - group["ok"].mean()))})
    return rows


def summarise_target(run: RunData, trials: list[dict[str, Any]], target: str) -> dict[str, Any]:
    """Per-target medians and intervals over the headline trials, plus counts."""
    own = [t for t in trials if t["target"] == target]
    used = headline_trials(trials, target)
    settings = (run.config.get("targets") or {}).get(target, {})
    return {
        "settings": settings,
        "trials": len(own),
        "valid_trials": sum(1 for t in own if t["valid"]),
        "summary_trials": [t["trial"] for t in used],
        "summary_scope": "all sweep steps" if used and not _is_plain(used[0]) else "trials",
        "requests": int(sum(t["requests"] for t in used)),
        "late_starts": int(sum(t["late_starts"] for t in used)),
        "dropped_starts": int(sum(t["dropped_starts"] for t in used)),
        "summary": {m: _interval_dict(_values(used, m)) for m in SUMMARY_METRICS},
        "endpoints": _endpoint_table(run, target, {t["trial"] for t in used}),
    }


# (results key, higher is better, how the ratio is oriented)
COMPARED: tuple[tuple[str, bool], ...] = (
    ("throughput_rps", True), ("goodput_rps", True), ("p50_ms", False), ("p99_ms", False),
    ("error_ratio", False), ("cpu_per_1k_target", False),
)


def compare_targets(trials: list[dict[str, Any]], baseline: str, candidate: str,
                    *, seed: int = 0) -> dict[str, Any]:
    """Candidate vs baseline per metric: a ratio oriented so > 1 favours the candidate."""
    a = headline_trials(trials, candidate)
    b = headline_trials(trials, baseline)
    metrics: dict[str, Any] = {}
    for key, higher in COMPARED:
        va, vb = _values(a, key), _values(b, key)
        # throughput: candidate/baseline; latency, errors, CPU: baseline/candidate
        num, den = (va, vb) if higher else (vb, va)
        ratio = stats.ratio_interval(num, den, seed=seed)
        sig = stats.mann_whitney(va, vb)
        metrics[key] = {
            "ratio": _clean(ratio.ratio), "low": _clean(ratio.low), "high": _clean(ratio.high),
            "confidence": ratio.confidence, "orientation": (f"{candidate}/{baseline}" if higher
                                                            else f"{baseline}/{candidate}"),
            "p_value": _clean(sig.p_value), "significant": sig.significant,
            "significance": sig.reason, "n_candidate": sig.n_a, "n_baseline": sig.n_b,
        }
    return {"baseline": baseline, "candidate": candidate, "metrics": metrics}


def capacity(trials: list[dict[str, Any]], target: str, slo: Slo) -> dict[str, Any] | None:
    """Knee and max sustainable throughput from the target's sweep steps (None if no sweep)."""
    own = [t for t in trials if t["target"] == target and t.get("step") is not None and t["valid"]]
    if not own:
        return None
    by_step: dict[int, list[dict[str, Any]]] = {}
    for t in own:
        by_step.setdefault(int(t["step"]), []).append(t)
    steps: list[stats.Step] = []
    rows: list[dict[str, Any]] = []
    for step, group in sorted(by_step.items()):
        offered = _num(group[0].get("offered"))
        achieved = float(np.median(stats.as_array(_values(group, "throughput_rps"))))
        p99 = float(np.median(stats.as_array(_values(group, "p99_ms"))))
        err = float(np.median(stats.as_array(_values(group, "error_ratio"))))
        off = offered if offered is not None else float(step)
        steps.append(stats.Step(off, achieved, p99, err))
        rows.append({"step": step, "offered": offered, "achieved_rps": _clean(achieved),
                     "p99_ms": _clean(p99), "error_ratio": _clean(err), "trials": len(group),
                     "late_starts": sum(t["late_starts"] for t in group),
                     "dropped_starts": sum(t["dropped_starts"] for t in group)})
    open_model = all(t.get("model") == "open" for t in own)
    knee = stats.find_knee(steps, slo_p99_ms=slo.p99_ms, max_error_ratio=slo.error_ratio,
                           offered_is_rate=open_model)
    return {
        "offered_unit": "req/s" if open_model else "users",
        "steps": rows,
        "knee_offered": knee.offered,
        "knee_reason": knee.reason,
        "max_sustainable_rps": _clean(knee.max_sustainable),
        "max_sustainable_offered": knee.max_sustainable_offered,
    }


def gateway_sweep(trials: list[dict[str, Any]], baseline: str, candidate: str,
                  *, seed: int = 0, key: str = "gateway_latency_ms") -> dict[str, Any] | None:
    """Throughput speedup of candidate over baseline at each value of ``key`` (the gateway
    latency, or the gateway profile of a profile sweep); None without two values."""
    levels = sorted({t[key] for t in trials if t.get(key) is not None and t["valid"]},
                    key=lambda v: (isinstance(v, str), v))
    if len(levels) < 2:
        return None
    points: list[dict[str, Any]] = []
    for lat in levels:
        at = [t for t in trials if t.get(key) == lat and t["valid"]]
        va = _values([t for t in at if t["target"] == candidate], "throughput_rps")
        vb = _values([t for t in at if t["target"] == baseline], "throughput_rps")
        ratio = stats.ratio_interval(va, vb, seed=seed)
        sig = stats.mann_whitney(va, vb)
        points.append({
            key: lat, "speedup": _clean(ratio.ratio), "low": _clean(ratio.low),
            "high": _clean(ratio.high), "significant": sig.significant,
            "p_value": _clean(sig.p_value),
            "throughput_rps": {candidate: _clean(float(np.median(va))) if va else None,
                               baseline: _clean(float(np.median(vb))) if vb else None},
        })
    return {"baseline": baseline, "candidate": candidate, "points": points}


def pick_pair(run: RunData, targets: list[str]) -> tuple[str, str] | None:
    """(baseline, candidate): config ``baseline`` if set, else legacy vs engine, else order."""
    if len(targets) < 2:
        return None
    base = run.config.get("baseline")
    if not (isinstance(base, str) and base in targets):
        base = "legacy" if "legacy" in targets else targets[0]
    others = [t for t in targets if t != base]
    cand = "engine" if "engine" in others else others[0]
    return base, cand


def completeness(run: RunData, trials: list[dict[str, Any]], n_targets: int) -> list[str]:
    """Reasons the run is incomplete (empty when complete)."""
    reasons = [p for p in run.problems if "trials" in p]
    if run.config.get("complete") is False:  # the runner's own word, written at the end
        why = run.config.get("incomplete_reason")
        reasons.append(f"run stopped early: {why}" if why else "the runner did not finish")
    load = run.config.get("load") or {}
    per_target = load.get("trials")
    schedule = run.config.get("schedule")
    if isinstance(schedule, list) and schedule:
        present = {t["trial"] for t in trials}
        missing = [str(name) for name in schedule if name not in present]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            reasons.append(f"{len(schedule) - len(missing)} of {len(schedule)} planned trials "
                           f"present (missing {shown})")
    elif isinstance(per_target, int) and per_target > 0:
        steps = 1
        sweep = load.get("sweep")
        if isinstance(sweep, dict) and isinstance(sweep.get("steps"), list):
            steps = max(len(sweep["steps"]), 1)
        gw = run.config.get("gateway_sweep")
        if isinstance(gw, dict) and isinstance(gw.get("latencies_ms"), list):
            steps *= max(len(gw["latencies_ms"]), 1)
        profiles = run.config.get("profile_sweep")
        if isinstance(profiles, dict) and isinstance(profiles.get("profiles"), list):
            steps *= max(len(profiles["profiles"]), 1)
        expected = per_target * steps * max(n_targets, 1)
        if len(trials) < expected:
            reasons.append(f"{len(trials)} of {expected} planned trials present")
    reasons.extend(f"{t['trial']} did not complete" for t in trials if not t["complete"])
    return reasons


def _fairness(run: RunData, targets: list[str]) -> dict[str, Any]:
    settings = run.config.get("targets") or {}
    notes: list[str] = []
    for key in ("workers", "pool"):
        vals = {name: settings.get(name, {}).get(key) for name in targets}
        if len({repr(v) for v in vals.values()}) > 1:
            shown = ", ".join(f"{k} {v}" for k, v in vals.items())
            notes.append(f"{key} differ between targets ({shown})")
    return {
        "targets": {name: settings.get(name, {}) for name in targets},
        "gateway_profile": run.config.get("gateway_profile"),
        "load": run.config.get("load") or {},
        "seed": run.config.get("seed"),
        "notes": notes,
    }


def analyse_run(run: RunData, slo: Slo | None = None) -> dict[str, Any]:
    """Build the results document for ``run`` (without the verdict's rendering extras)."""
    from reports.verdict import method_note, verdict  # wording lives beside its rules

    slo = slo or slo_from_config(run.config)
    settings = run.config.get("targets") or {}

    def role_of(target: str) -> str:
        role = (settings.get(target) or {}).get("role")
        return role if isinstance(role, str) and role else target

    trials = [analyse_trial(t, role_of(t.target)) for t in run.trials]
    swept = run.config.get("profile_sweep")
    if isinstance(swept, dict) and swept.get("profiles"):
        default = run.config.get("gateway_profile")
        for info, trial in zip(trials, run.trials, strict=True):
            info["gateway_profile"] = trial.meta.get("gateway_profile")
            # trials at a profile other than the run's default are sweep points only
            info["profile_swept"] = info["gateway_profile"] not in (None, default)
    targets = run.target_names()
    pair = pick_pair(run, targets)
    seed = int(run.config.get("seed") or 0) if isinstance(run.config.get("seed"), int) else 0
    # A pure sweep has no trials comparable across all its steps: its comparisons are
    # the capacity table and the per-level speedups instead.
    has_plain = any(_is_plain(t) and t["valid"] for t in trials)
    comparisons = [compare_targets(trials, pair[0], cand, seed=seed)
                   for cand in targets if pair and cand != pair[0] and has_plain]
    caps = {name: cap for name in targets if (cap := capacity(trials, name, slo)) is not None}
    gw = gateway_sweep(trials, pair[0], pair[1], seed=seed) if pair else None
    profiles = (gateway_sweep(trials, pair[0], pair[1], seed=seed, key="gateway_profile")
                if pair and isinstance(swept, dict) else None)
    incomplete = completeness(run, trials, len(targets))
    results: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "label": run.label,
        "run_dir": run.path.name,
        "complete": not incomplete,
        "incomplete_reasons": incomplete,
        "slo": slo.as_dict(),
        "baseline": pair[0] if pair else None,
        "candidate": pair[1] if pair else None,
        "targets": {name: summarise_target(run, trials, name) for name in targets},
        "trials": trials,
        "comparisons": comparisons,
        "capacity": caps or None,
        "gateway_sweep": gw,
        "profile_sweep": profiles,
        "fairness": _fairness(run, targets),
        "environment": run.environment,
        "load_problems": list(run.problems),
        "raw_files": list(run.files),
    }
    results["verdict"] = verdict(results)
    results["method"] = method_note(results)
    return results
