"""Turn a loaded run into the results document (the content of ``results.json``).

This is the one place that decides *which* numbers a report shows: per-trial figures,
per-target medians with intervals over valid trials, ratios between targets with
bootstrap intervals and a significance test, capacity from a load sweep, the gateway
latency sweep, completeness, and the one-sentence verdict. Rendering only formats
what is here, so every number in report.html is also in results.json.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reports import anatomy, headline, stats
from reports import capacity as rcap
from reports.gates import slo_breaches
from reports.headline import headline_trials, is_plain
from reports.load import RunData, TrialData
from reports.provenance import reproduction
from reports.saturation import target_saturation
from reports.verdict import method_note, verdict  # wording lives beside its rules
from rundir.config import RunDoc
from rundir.samples import MEASURED, TIMED_OUT

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


def slo_from_config(config: RunDoc) -> Slo:
    """``config.json``'s optional ``"slo": {"p99_ms", "error_ratio"}``, else the defaults."""
    default = Slo()
    if config.slo is None:
        return default
    p99, err = config.slo.p99_ms, config.slo.error_ratio
    return Slo(float(p99 if p99 is not None else default.p99_ms),
               float(err if err is not None else default.error_ratio))


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
    if meta.window_start is not None and meta.window_end is not None:
        start, end = float(meta.window_start), float(meta.window_end)
    else:  # runs recorded before the trial clock existed
        start, end = stats.measured_window(
            meas["t"].to_numpy(dtype=np.float64), started_at=_num(meta.started_at),
            ended_at=_num(meta.ended_at), warmup_s=_num(meta.warmup_s),
            duration_s=_num(meta.duration_s),
        )
        if math.isfinite(end):  # requests started after the window are not part of it
            meas = meas[meas["t"] <= end]
    lat = meas["latency_ms"].to_numpy(dtype=np.float64)
    window = end - start if math.isfinite(end - start) else math.nan
    n = len(meas)
    ok = int(meas["ok"].sum())
    # Requests the drain gave up on have no outcome: their latency counts (as a lower
    # bound), they are counted as timed out, and they are not errors.
    is_timed_out = (meas["name"].astype(str) == TIMED_OUT).to_numpy()
    timed_out = int(is_timed_out.sum())
    failed = n - ok - timed_out
    pct = stats.latency_percentiles(lat)
    done, done_ok = stats.completions(
        trial.samples["t"].to_numpy(dtype=np.float64),
        trial.samples["latency_ms"].to_numpy(dtype=np.float64),
        trial.samples["ok"].to_numpy(dtype=np.int8),
        start=start, end=end)
    t_all = trial.samples["t"].to_numpy(dtype=np.float64)
    started = int(((t_all >= start) & (t_all < end)).sum())
    growth = stats.latency_growth(meas["t"].to_numpy(dtype=np.float64), lat,
                                  start=start, end=end)
    iterations = _num(meta.iterations_completed)

    cpu_roles: dict[str, float] = {}
    if trial.resources is not None and len(trial.resources) and math.isfinite(window):
        res = trial.resources
        cpu_roles = stats.cpu_by_role(
            t=res["t"].to_numpy(), role=res["role"].astype(str).to_numpy(),
            pid=res["pid"].to_numpy(), cpu_s=res["cpu_s"].to_numpy(), start=start, end=end)
    target_cpu = cpu_roles.get(role or trial.target, math.nan)
    all_cpu = sum(cpu_roles.values()) if cpu_roles else math.nan

    reasons = list(meta.invalid_reasons or ())
    runner_valid = meta.valid is True
    if not runner_valid and not reasons:
        reasons.append("marked invalid by the runner" if meta.valid is not None
                       else "validity unknown")
    extra = list(trial.problems)
    complete = meta.complete is True and not trial.problems
    if meta.complete is False:
        extra.append("trial did not complete")
    if meta.cpu_warning is True and not any("cpu" in r.lower() for r in reasons):
        extra.append("load generator CPU warning (above 90%)")
    if n == 0:
        extra.append("no measured samples")
    reasons.extend(r for r in extra if r not in reasons)
    valid = runner_valid and not extra and meta.cpu_warning is not True

    errors = meas.loc[(meas["ok"] == 0).to_numpy() & ~is_timed_out, "status"]
    errors_by_status = {str(k): int(v) for k, v in errors.value_counts().sort_index().items()}
    return {
        "trial": trial.dir_name,
        "target": trial.target,
        "index": trial.index,
        "order": meta.order,
        "valid": valid,
        "invalid_reasons": reasons if not valid else [],
        "complete": complete,
        "model": meta.model,
        "users": meta.users,
        "rate": meta.rate,
        "step": meta.step,
        "offered": meta.offered,
        "phase": meta.phase,
        "aborted": meta.aborted,
        "gateway_latency_ms": meta.gateway_latency_ms,
        "scenario": meta.scenario,
        "started_at": meta.started_at,
        "ended_at": meta.ended_at,
        "window_start": _clean(start),
        "window_s": _clean(window),
        "requests": n,
        "ok_requests": ok,
        "warmup_requests": int((trial.samples["warmup"] != MEASURED).sum()),
        "completed_in_window": done,
        "started_rps": _clean(stats.rate(started, window)),
        "throughput_rps": _clean(stats.rate(done, window)),
        "goodput_rps": _clean(stats.rate(done_ok, window)),
        "iterations_rps": _clean(stats.rate(int(iterations), window))
        if iterations is not None else None,
        "offered_rps": _num(meta.rate),
        "error_ratio": _clean(failed / n if n else math.nan),
        "timed_out": timed_out,
        **{f"{k}_ms": _clean(v) for k, v in pct.items()},
        "latency_growth": {k: _clean(v) for k, v in growth.items()},
        "errors_by_status": errors_by_status,
        "late_starts": int(meta.late_starts or 0),
        "dropped_starts": int(meta.dropped_starts or 0),
        "late_queued": int(meta.late_queued or 0),
        "dropped_queued": int(meta.dropped_queued or 0),
        "scheduled_starts": int(meta.scheduled_starts or 0),
        "cpu_warning": bool(meta.cpu_warning),
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


def summarise_target(run: RunData, trials: list[dict[str, Any]], target: str,
                     caps: dict[str, Any] | None = None, *,
                     point: tuple[Any, Any] | None = None,
                     limits: tuple[float, float] | None = None) -> dict[str, Any]:
    """Per-target medians and intervals over the headline trials, plus counts; with
    ``limits`` (p99 ms, error ratio: the objective the report's header shows), what of it
    the medians break."""
    own = [t for t in trials if t["target"] == target]
    used = headline_trials(trials, target, caps, point)
    summary = {m: _interval_dict(_values(used, m)) for m in SUMMARY_METRICS}
    settings = (run.config.targets or {}).get(target, {})
    return {
        "settings": settings,
        "trials": len(own),
        "valid_trials": sum(1 for t in own if t["valid"]),
        "summary_trials": [t["trial"] for t in used],
        "summary_scope": headline.scope(used),
        "requests": int(sum(t["requests"] for t in used)),
        "late_starts": int(sum(t["late_starts"] for t in used)),
        "dropped_starts": int(sum(t["dropped_starts"] for t in used)),
        "summary": summary,
        "slo_breaches": slo_breaches(summary, *limits) if limits else [],
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
    """Capacity from the target's sweep steps (None if no sweep).

    Rate stairs (open model) use the capacity search's sustained rule at the SLO; user
    stairs (closed model) have no offered rate to keep up with, so their knee is the first
    step whose p99 or errors break the SLO or whose throughput stops growing.
    """
    own = [t for t in trials if t["target"] == target and t.get("step") is not None
           and t.get("phase") is None]
    if not own:
        return None
    if all(t.get("model") == "open" for t in own):
        objective = rcap.Objective(p99_ms=slo.p99_ms, error_ratio=slo.error_ratio,
                                   explanation=f"p99 <= {slo.p99_ms:g} ms (the SLO)")
        return rcap.target_capacity(own, objective)
    valid = [t for t in own if t["valid"]]
    by_step: dict[int, list[dict[str, Any]]] = {}
    for t in valid:
        by_step.setdefault(int(t["step"]), []).append(t)
    steps: list[stats.Step] = []
    rows: list[dict[str, Any]] = []
    for step, group in sorted(by_step.items()):
        offered = _num(group[0].get("offered"))
        achieved = float(np.median(stats.as_array(_values(group, "throughput_rps"))))
        p99 = float(np.median(stats.as_array(_values(group, "p99_ms"))))
        p50 = float(np.median(stats.as_array(_values(group, "p50_ms"))))
        err = float(np.median(stats.as_array(_values(group, "error_ratio"))))
        off = offered if offered is not None else float(step)
        steps.append(stats.Step(off, achieved, p99, err))
        rows.append({"trial": ",".join(t["trial"] for t in group), "phase": "step",
                     "offered": off, "completed_rps": _clean(achieved), "p50_ms": _clean(p50),
                     "p99_ms": _clean(p99), "error_ratio": _clean(err)})
    knee = stats.find_knee(steps, slo_p99_ms=slo.p99_ms, max_error_ratio=slo.error_ratio,
                           offered_is_rate=False)
    for i, row in enumerate(rows):
        row["sustained"] = knee.index is None or i < knee.index
        row["reasons"] = [knee.reason] if knee.index == i else []
    return {
        "offered_unit": "users", "rate_unit": "requests/s",
        "steps": rows,
        "knee_offered": knee.offered,
        "knee_reason": knee.reason,
        "max_sustainable_rps": _clean(knee.max_sustainable),
        "max_sustainable_offered": knee.max_sustainable_offered,
        "interval": None, "limited_by": None,
    }


def capacity_search(run: RunData, trials: list[dict[str, Any]], targets: list[str],
                    baseline: str, *, seed: int = 0) -> dict[str, Any] | None:
    """A capacity run's results: objective, capacities, ratios, latency at a common rate;
    with a gateway sweep, the same at every gateway setting (``points``) and the headline
    at the run's own setting (or the first point)."""
    figs = [t for t in trials if rcap.is_capacity_trial(t)]
    if not figs:
        return None
    for fig, data in zip(trials, run.trials, strict=True):
        fig.setdefault("gateway_profile", data.meta.gateway_profile)
    keys = sorted({(f.get("gateway_latency_ms"), f.get("gateway_profile")) for f in figs},
                  key=lambda k: (k[0] is not None, k[0] or 0.0, str(k[1])))
    swept = run.config.objectives is not None
    points: list[dict[str, Any]] = []
    for latency, profile in keys:
        objective = rcap.objective_of(run.config, latency, profile if swept else None)
        if objective is None:
            continue
        group = [f for f in figs if (f.get("gateway_latency_ms"), f.get("gateway_profile"))
                 == (latency, profile)]
        points.append({"gateway_latency_ms": latency, "gateway_profile": profile,
                       **rcap.summarise(group, objective, baseline=baseline, targets=targets,
                                        seed=seed)})
    if not points:
        return None
    head = dict(points[0])
    head["points"] = points if swept else None
    return head


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
    base = run.config.baseline
    if base is None or base not in targets:
        base = "legacy" if "legacy" in targets else targets[0]
    others = [t for t in targets if t != base]
    cand = "engine" if "engine" in others else others[0]
    return base, cand


def completeness(run: RunData, trials: list[dict[str, Any]], n_targets: int) -> list[str]:
    """Reasons the run is incomplete (empty when complete)."""
    reasons = [p for p in run.problems if "trials" in p]
    config = run.config
    if config.complete is False:  # the runner's own word, written at the end
        why = config.incomplete_reason
        reasons.append(f"run stopped early: {why}" if why else "the runner did not finish")
    per_target = config.load.trials if config.load is not None else None
    schedule = config.schedule
    if schedule:
        # trials a sweep skipped on purpose (the target had already broken) are not missing
        present = {t["trial"] for t in trials} | set(config.skipped or ())
        missing = [name for name in schedule if name not in present]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            reasons.append(f"{len(schedule) - len(missing)} of {len(schedule)} planned trials "
                           f"present (missing {shown})")
    elif per_target is not None and per_target > 0:
        steps = 1
        sweep = config.load.sweep if config.load is not None else None
        if sweep is not None and sweep.steps is not None:
            steps = max(len(sweep.steps), 1)
        if config.gateway_sweep is not None and config.gateway_sweep.latencies_ms is not None:
            steps *= max(len(config.gateway_sweep.latencies_ms), 1)
        if config.profile_sweep is not None and config.profile_sweep.profiles is not None:
            steps *= max(len(config.profile_sweep.profiles), 1)
        expected = per_target * steps * max(n_targets, 1)
        if len(trials) < expected:
            reasons.append(f"{len(trials)} of {expected} planned trials present")
    reasons.extend(f"{t['trial']} did not complete" for t in trials if not t["complete"])
    return reasons


def _saturation(run: RunData, trials: list[dict[str, Any]], targets: list[str],
                role_of: Any, caps: dict[str, Any] | None) -> dict[str, Any] | None:
    """Closed-model runs: whether each target was saturated in its headline trials."""
    machine = run.environment.get("machine") or {}
    cores = machine.get("cpu_affinity") or machine.get("cpu_count_logical")
    settings = run.config.targets or {}
    out = {}
    for name in targets:
        used = headline_trials(trials, name, caps)
        sat = target_saturation(used, settings.get(name) or {}, role=role_of(name),
                                cores=cores if isinstance(cores, int) else None)
        if sat is not None:
            out[name] = sat
    return out or None


def _fairness(run: RunData, targets: list[str]) -> dict[str, Any]:
    settings = run.config.targets or {}
    notes: list[str] = []
    for key in ("workers", "pool"):
        vals = {name: settings.get(name, {}).get(key) for name in targets}
        if len({repr(v) for v in vals.values()}) > 1:
            shown = ", ".join(f"{k} {v}" for k, v in vals.items())
            notes.append(f"{key} differ between targets ({shown})")
    return {
        "targets": {name: settings.get(name, {}) for name in targets},
        "gateway_profile": run.config.gateway_profile,
        "gateway": run.config.gateway or {},
        # the load settings exactly as config.json recorded them
        "load": run.config.recorded.get("load") or {},
        "seed": run.config.seed,
        "notes": notes,
    }


def analyse_run(run: RunData, slo: Slo | None = None) -> dict[str, Any]:
    """Build the results document for ``run`` (without the verdict's rendering extras)."""
    slo = slo or slo_from_config(run.config)
    settings = run.config.targets or {}

    def role_of(target: str) -> str:
        role = (settings.get(target) or {}).get("role")
        return role if isinstance(role, str) and role else target

    trials = [analyse_trial(t, role_of(t.target)) for t in run.trials]
    swept = run.config.profile_sweep
    if swept is not None and swept.profiles:
        default = run.config.gateway_profile
        for info, trial in zip(trials, run.trials, strict=True):
            info["gateway_profile"] = trial.meta.gateway_profile
            # trials at a profile other than the run's default are sweep points only
            info["profile_swept"] = info["gateway_profile"] not in (None, default)
    targets = run.target_names()
    pair = pick_pair(run, targets)
    seed = run.config.seed or 0
    # A pure sweep has no trials comparable across all its steps: its comparisons are
    # the capacity table and the per-level speedups instead.
    has_plain = any(is_plain(t) and t["valid"] for t in trials)
    comparisons = [compare_targets(trials, pair[0], cand, seed=seed)
                   for cand in targets if pair and cand != pair[0] and has_plain]
    searched = capacity_search(run, trials, targets, pair[0] if pair else targets[0], seed=seed)
    if searched is not None:
        caps = searched["targets"]
        gw = profiles = None
    else:
        caps = {name: cap for name in targets
                if (cap := capacity(trials, name, slo)) is not None}
        gw = gateway_sweep(trials, pair[0], pair[1], seed=seed) if pair else None
        profiles = (gateway_sweep(trials, pair[0], pair[1], seed=seed, key="gateway_profile")
                    if pair and swept is not None else None)
    incomplete = completeness(run, trials, len(targets))
    point = (searched["gateway_latency_ms"], searched["gateway_profile"]) if searched else None
    # the objective the header shows: the capacity search's, else the SLO
    objective = (searched or {}).get("objective") or slo.as_dict()
    limits = (float(objective["p99_ms"]), float(objective["error_ratio"]))
    summaries = {name: summarise_target(run, trials, name, caps, point=point, limits=limits)
                 for name in targets}
    results: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "label": run.label,
        "run_dir": run.path.name,
        "complete": not incomplete,
        "incomplete_reasons": incomplete,
        "slo": slo.as_dict(),
        "baseline": pair[0] if pair else None,
        "candidate": pair[1] if pair else None,
        "targets": summaries,
        # a sweep's figures are per step: no per-target medians across its steps are shown
        "per_step": (run.config.load is not None and run.config.load.sweep is not None) or any(
            s["summary_scope"] == headline.ALL_STEPS for s in summaries.values()),
        "trials": trials,
        "comparisons": comparisons,
        "capacity": caps or None,
        "capacity_search": searched,
        "saturation": _saturation(run, trials, targets, role_of, caps),
        "gateway_sweep": gw,
        "profile_sweep": profiles,
        "fairness": _fairness(run, targets),
        "environment": run.environment,
        "reproduce": reproduction(run.config, run.environment),
        "load_problems": list(run.problems),
        "raw_files": list(run.files),
    }
    results["composition"] = composition(run, summaries, caps)
    results["verdict"] = verdict(results, run.config.load)
    results["method"] = method_note(results, run.config.load)
    webhooks = webhook_note(run.config.gateway)
    if webhooks:
        results["method"] = (results["method"] + " " + webhooks).strip()
    if results["composition"]["available"]:
        results["method"] = (results["method"] + " " + anatomy.METHOD_NOTE).strip()
    return results


def webhook_note(gateway: Mapping[str, Any] | None) -> str:
    """What the simulator's webhooks added to the load (``gateway``: its effective profile
    from config.json); empty when the run recorded no profile or sent none."""
    hooks = (gateway or {}).get("webhook")
    if not isinstance(hooks, Mapping) or not hooks.get("enabled"):
        return ""
    which = ("every outcome a reply did not give (pending payments, refunds, failed calls)"
             if hooks.get("only_async") else "every payment and refund outcome")
    extras = [f"{float(rate):.0%} {what}" for rate, what in (
        (hooks.get("duplicate_rate") or 0, "sent twice"),
        (hooks.get("out_of_order_rate") or 0, "with a stale event after the final one"),
    ) if rate]  # fmt: skip
    return (f"The gateway simulator sent a webhook for {which}"
            + (f" ({', '.join(extras)})" if extras else "")
            + ", as Juspay and Paytm do: each target received and applied its own during "
            "the trials, so that work is inside every figure.")


def composition(run: RunData, summaries: dict[str, Any],
                caps: dict[str, Any] | None) -> dict[str, Any]:
    """Where each target's time goes (``reports.anatomy``): over its headline trials (not
    for a sweep whose headline spans every step: no figure pools different loads), every
    trial's own, and at each step of a capacity search or stairs sweep."""
    by_name = {t.dir_name: t for t in run.trials}
    headline_samples = {name: [by_name[n].samples for n in info["summary_trials"]
                               if n in by_name] for name, info in summaries.items()
                        if info["summary_scope"] != headline.ALL_STEPS}
    steps = {name: cap["steps"] for name, cap in (caps or {}).items() if cap.get("steps")}
    # started by the stack with no fixed number of requests per worker: an event loop
    event_loop = {name for name, target in (run.config.targets or {}).items()
                  if target.get("started_by_stack") and target.get("requests_per_worker") is None}
    return anatomy.section(headline_samples, trials={t.dir_name: t.samples for t in run.trials},
                           steps=steps, event_loop=event_loop)
