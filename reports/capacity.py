"""Capacity at a latency objective: the rule for a sustained step, and each target's figure.

A target *sustains* an offered rate R (open model, scenario iterations per second) when,
over the measured window of one trial:

* it kept up: the requests it completed inside the window are at least 95% of those that
  started in it (less one request of slack for the window's edges), so no queue built up;
* at most 1% of the scheduled starts were late or dropped;
* its error ratio is within the objective's (requests the drain gave up on are not
  errors: they are counted as timed out, and their latency counts as at least the drain);
* its queue did not grow: mean latency of the last third of the window is not above the
  first third's by more than half and by more than a quarter of the objective;
* and the p99 latency of the window's requests meets the objective.

A trial whose *generator* fell behind proves nothing about the target: such a step is
inconclusive, and a capacity found next to it is reported as limited by the generator.

The capacity of a target is the completed requests/s at the highest offered rate it
sustained; the confirmation trials at that rate, interleaved across targets, give it a
95% interval (order statistics of the trials' completed rates) and each ratio between
targets a bootstrap interval. This module is pure: it works on the per-trial figures of
``reports.analysis.analyse_trial``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reports import stats
from rundir.config import ObjectiveDoc, RunDoc

COMPLETED_MIN = 0.95
BEHIND_MAX = 0.01
GROWTH_FACTOR = 1.5
GROWTH_OF_OBJECTIVE = 0.25
DEFAULT_FACTOR = 2.0


@dataclass(frozen=True)
class Objective:
    """The latency objective every target's capacity is measured at."""

    p99_ms: float
    error_ratio: float = 0.01
    source: str = "given"  # "given" (--slo) or "derived"
    basis_ms: float | None = None  # the unloaded p99 it was derived from
    basis_target: str | None = None
    factor: float | None = None
    explanation: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (config.json and results.json)."""
        return {"p99_ms": self.p99_ms, "error_ratio": self.error_ratio, "source": self.source,
                "basis_ms": self.basis_ms, "basis_target": self.basis_target,
                "factor": self.factor, "explanation": self.explanation}

    def to_doc(self) -> ObjectiveDoc:
        """As config.json records it."""
        return ObjectiveDoc(p99_ms=self.p99_ms, error_ratio=self.error_ratio,
                            source=self.source, basis_ms=self.basis_ms,
                            basis_target=self.basis_target, factor=self.factor,
                            explanation=self.explanation)

    @classmethod
    def from_doc(cls, doc: ObjectiveDoc) -> Objective:
        """Read back what ``to_doc`` recorded (an objective needs its p99)."""
        if doc.p99_ms is None:
            raise ValueError("an objective without p99_ms")
        return cls(p99_ms=float(doc.p99_ms),
                   error_ratio=float(doc.error_ratio if doc.error_ratio is not None else 0.01),
                   source=doc.source if doc.source is not None else "given",
                   basis_ms=float(doc.basis_ms) if doc.basis_ms is not None else None,
                   basis_target=doc.basis_target,
                   factor=float(doc.factor) if doc.factor is not None else None,
                   explanation=doc.explanation if doc.explanation is not None else "")


def round_up(value: float) -> float:
    """``value`` rounded up to two significant digits (624 -> 630, 87.2 -> 88)."""
    if not value > 0:
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / step - 1e-9) * step


def derive_objective(unloaded_ms: Mapping[str, Sequence[float]], *,
                     factor: float = DEFAULT_FACTOR, error_ratio: float = 0.01,
                     rate: float | None = None) -> Objective:
    """The objective from the targets' request latencies at the lowest offered rate.

    Every target's requests at that rate (unloaded: no queue) are pooled, so the p99 has
    as many samples as the probes gave; it is what the stack needs per request with the
    chosen gateway. The objective allows ``factor`` times that, rounded up: queueing may
    then add at most as much again as the unloaded service takes, which is where a
    server's latency turns up steeply, so the capacity hardly depends on the factor.
    """
    pooled = np.concatenate([np.asarray(v, dtype=np.float64) for v in unloaded_ms.values()]
                            or [np.empty(0)])
    pooled = pooled[np.isfinite(pooled)]
    if pooled.size == 0:
        raise ValueError("no unloaded latency to derive a latency objective from")
    basis = float(np.percentile(pooled, 99))
    p99 = round_up(factor * basis)
    at = f" at {rate:g} iterations/s" if rate is not None else ""
    names = ", ".join(unloaded_ms)
    text = (f"p99 <= {p99:g} ms: {factor:g} x the unloaded p99 ({basis:.0f} ms over "
            f"{pooled.size} requests of {names}{at}), so every target can meet it without "
            "load and queueing may add at most as much again")
    return Objective(p99_ms=p99, error_ratio=error_ratio, source="derived", basis_ms=basis,
                     basis_target=names, factor=factor, explanation=text)


@dataclass(frozen=True)
class StepVerdict:
    """Whether one trial at an offered rate was sustained (None: inconclusive)."""

    sustained: bool | None
    reasons: tuple[str, ...] = field(default_factory=tuple)


def assess_step(fig: Mapping[str, Any], objective: Objective) -> StepVerdict:
    """Apply the sustained rule to one trial's figures."""
    if not fig.get("valid"):
        return StepVerdict(None, tuple(fig.get("invalid_reasons") or ("invalid trial",)))
    reasons: list[str] = []
    if fig.get("aborted"):
        reasons.append(f"stopped early: {fig['aborted']}")
    started, done = fig.get("started_rps"), fig.get("throughput_rps")
    window = fig.get("window_s")
    if started and done is not None and window and done < COMPLETED_MIN * started - 1 / window:
        reasons.append(f"completed {done:.1f} of the {started:.1f} requests/s that started "
                       f"(< {COMPLETED_MIN:.0%})")
    scheduled = int(fig.get("scheduled_starts") or 0)
    behind = int(fig.get("late_starts") or 0) + int(fig.get("dropped_starts") or 0)
    if scheduled and behind > BEHIND_MAX * scheduled:
        reasons.append(f"{behind} of {scheduled} starts late or dropped (> {BEHIND_MAX:.0%})")
    err = fig.get("error_ratio")
    if err is not None and err > objective.error_ratio:
        reasons.append(f"errors {err:.2%} > {objective.error_ratio:.2%}")
    growth = fig.get("latency_growth") or {}
    first, last = growth.get("first_ms"), growth.get("last_ms")
    if (first is not None and last is not None and last > first * GROWTH_FACTOR
            and last - first > GROWTH_OF_OBJECTIVE * objective.p99_ms):
        reasons.append(f"queue growing: mean latency {first:.0f} -> {last:.0f} ms "
                       "from the first to the last third of the window")
    p99 = fig.get("p99_ms")
    if p99 is None:
        reasons.append("no latency measured")
    elif p99 > objective.p99_ms:
        timed = int(fig.get("timed_out") or 0)
        extra = f" ({timed} timed out)" if timed else ""
        reasons.append(f"p99 {p99:.0f} ms > {objective.p99_ms:g} ms{extra}")
    return StepVerdict(not reasons, tuple(reasons))


def _step_row(fig: Mapping[str, Any], verdict: StepVerdict) -> dict[str, Any]:
    return {
        "trial": fig["trial"], "phase": fig.get("phase") or "step",
        "offered": fig.get("offered_rps"),
        "completed_rps": fig.get("throughput_rps"),
        "completed_iterations_rps": fig.get("iterations_rps"),
        "p50_ms": fig.get("p50_ms"), "p99_ms": fig.get("p99_ms"),
        "error_ratio": fig.get("error_ratio"), "timed_out": fig.get("timed_out"),
        "sustained": verdict.sustained, "reasons": list(verdict.reasons),
    }


def _interval(values: Sequence[float]) -> dict[str, Any]:
    iv = stats.median_interval(values)
    return {"median": _clean(iv.median), "low": _clean(iv.low), "high": _clean(iv.high),
            "confidence": iv.confidence, "n": iv.n}


def _clean(value: float) -> float | None:
    return value if math.isfinite(value) else None


def target_capacity(figs: Sequence[Mapping[str, Any]], objective: Objective) -> dict[str, Any]:
    """One target's capacity from its search steps and confirmation trials."""
    rows = [_step_row(f, assess_step(f, objective)) for f in figs if f.get("offered_rps")]
    rows.sort(key=lambda r: (r["offered"], r["trial"]))
    by_rate: dict[float, list[dict[str, Any]]] = {}
    for row in rows:
        by_rate.setdefault(float(row["offered"]), []).append(row)

    def holds(group: list[dict[str, Any]]) -> bool:
        # More than half of the trials at a rate must hold it (one trial: that one).
        return sum(1 for r in group if r["sustained"] is True) * 2 > len(group)

    sustained_rates = [rate for rate, group in by_rate.items() if holds(group)]
    best = max(sustained_rates, default=None)
    above = sorted(rate for rate in by_rate if best is None or rate > best)
    knee = above[0] if above else None
    knee_rows = by_rate.get(knee, []) if knee is not None else []
    knee_reasons = sorted({reason for r in knee_rows for reason in r["reasons"]})
    limited_by = None
    if any(r["sustained"] is None for r in knee_rows):
        limited_by = "generator"
    elif knee is None and best is not None:
        limited_by = "search range"
    out: dict[str, Any] = {
        "offered_unit": "iterations/s", "rate_unit": "requests/s",
        "steps": rows, "max_sustainable_offered": best,
        "max_sustainable_rps": None, "max_sustainable_iterations_rps": None,
        "interval": _interval([]), "trials_at_capacity": 0, "held_at_capacity": 0,
        "knee_offered": knee, "knee_reason": "; ".join(knee_reasons) or None,
        "limited_by": limited_by,
    }
    if best is not None:
        at = [r for r in by_rate[best] if r["sustained"] is True]
        completed = [float(r["completed_rps"]) for r in at if r["completed_rps"] is not None]
        iterations = [float(r["completed_iterations_rps"]) for r in at
                      if r["completed_iterations_rps"] is not None]
        out.update(
            max_sustainable_rps=_clean(float(np.median(completed))) if completed else None,
            max_sustainable_iterations_rps=(_clean(float(np.median(iterations)))
                                            if iterations else None),
            interval=_interval(completed), trials_at_capacity=len(by_rate[best]),
            held_at_capacity=len(at), completed_at_capacity=completed,
        )
    return out


def capacity_ratio(candidate: Mapping[str, Any], baseline: Mapping[str, Any],
                   *, seed: int = 0) -> dict[str, Any]:
    """Candidate capacity over baseline capacity, with a bootstrap interval over trials."""
    a = candidate.get("completed_at_capacity") or []
    b = baseline.get("completed_at_capacity") or []
    ratio = stats.ratio_interval(a, b, seed=seed)
    return {"ratio": _clean(ratio.ratio), "low": _clean(ratio.low), "high": _clean(ratio.high),
            "confidence": ratio.confidence, "n_candidate": len(a), "n_baseline": len(b)}


def latency_at(figs: Sequence[Mapping[str, Any]], rate: float) -> dict[str, Any] | None:
    """Median p50/p99 of the target's sustained-or-not trials offered exactly ``rate``."""
    at = [f for f in figs if f.get("offered_rps") is not None
          and math.isclose(float(f["offered_rps"]), rate, rel_tol=1e-9) and f.get("valid")]
    if not at:
        return None
    p50 = [float(f["p50_ms"]) for f in at if f.get("p50_ms") is not None]
    p99 = [float(f["p99_ms"]) for f in at if f.get("p99_ms") is not None]
    done = [float(f["throughput_rps"]) for f in at if f.get("throughput_rps") is not None]
    return {"offered": rate, "trials": len(at),
            "p50_ms": _clean(float(np.median(p50))) if p50 else None,
            "p99_ms": _clean(float(np.median(p99))) if p99 else None,
            "completed_rps": _clean(float(np.median(done))) if done else None}


def is_capacity_trial(fig: Mapping[str, Any]) -> bool:
    """Whether a trial belongs to a capacity search (probe/search, confirm, common rate)."""
    return fig.get("phase") in ("search", "confirm", "common")


def objective_of(config: RunDoc, latency_ms: float | None = None,
                 profile: str | None = None) -> Objective | None:
    """The objective a run's capacity search used (per gateway setting in a sweep)."""
    for doc in config.objectives or ():
        if doc.gateway_latency_ms == latency_ms and doc.gateway_profile in (None, profile):
            return Objective.from_doc(doc)
    return Objective.from_doc(config.objective) if config.objective is not None else None


def summarise(figs: Sequence[Mapping[str, Any]], objective: Objective, *, baseline: str,
              targets: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Capacity of every target, each candidate's ratio to the baseline, and latency at the
    baseline's capacity rate (where every target holds the load)."""
    caps = {t: target_capacity([f for f in figs if f["target"] == t], objective)
            for t in targets}
    ratios: dict[str, Any] = {}
    common: dict[str, Any] = {}
    base = caps.get(baseline)
    base_rate = base.get("max_sustainable_offered") if base else None
    for t in targets:
        if t == baseline or base is None:
            continue
        ratios[t] = capacity_ratio(caps[t], base, seed=seed)
        if base_rate is not None:
            common[t] = {
                "offered": base_rate, "offered_unit": "iterations/s",
                t: latency_at([f for f in figs if f["target"] == t], base_rate),
                baseline: latency_at([f for f in figs if f["target"] == baseline], base_rate),
            }
    # candidates against each other (e.g. engine over sanic: what the ORM and framework cost)
    others = [t for t in targets if t != baseline]
    between = {f"{a}/{b}": capacity_ratio(caps[a], caps[b], seed=seed)
               for i, a in enumerate(others) for b in others[i + 1:]}
    return {"objective": objective.as_dict(), "targets": caps, "ratios": ratios,
            "between": between, "common_rate": common}
