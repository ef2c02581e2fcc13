"""Pass/fail gates: SLO gates on one run and regression gates between two runs.

SLO gates read like k6 thresholds: ``p99<500ms,errors<1%,throughput>=100``.
Regression gates read like pytest-benchmark's ``--benchmark-compare-fail``:
``p99:10%,throughput:5%`` trips when p99 grew by more than 10 % or throughput fell by
more than 5 % (the direction that counts as worse is known per metric).
Both are evaluated on the median across valid trials of each target; a regression gate
trips only on a significant change unless told otherwise. The CLI turns a tripped gate
into exit code 1 (see ``reports.cli_commands``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reports.errors import GateSpecError

# Gate name -> (results key, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "throughput": ("throughput_rps", True),
    "rps": ("throughput_rps", True),
    "goodput": ("goodput_rps", True),
    "p50": ("p50_ms", False),
    "p90": ("p90_ms", False),
    "p95": ("p95_ms", False),
    "p99": ("p99_ms", False),
    "p999": ("p999_ms", False),
    "p99.9": ("p999_ms", False),
    "max": ("max_ms", False),
    "mean": ("mean_ms", False),
    "errors": ("error_ratio", False),
    "error_ratio": ("error_ratio", False),
    "cpu": ("cpu_per_1k_target", False),
    "capacity": ("max_sustainable_rps", True),
}
# Known only when comparing two sweeps, never on one run's summary.
REGRESSION_ONLY = frozenset({"max_sustainable_rps"})
LATENCY_KEYS = {"p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms"}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
}
_SLO_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*"
                     r"(ms|s|us|%|rps|/s)?\s*$")
_REG_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*([0-9]*\.?[0-9]+)\s*%\s*$")


@dataclass(frozen=True)
class SloGate:
    """``metric op threshold`` in results units (ms for latency, ratio for errors)."""

    spec: str
    metric: str  # results key, e.g. "p99_ms"
    op: str
    threshold: float


@dataclass(frozen=True)
class RegressionGate:
    """Trip when ``metric`` gets worse by more than ``max_change`` (a fraction)."""

    spec: str
    metric: str
    max_change: float
    higher_is_better: bool


@dataclass(frozen=True)
class GateResult:
    """Outcome of one gate on one target."""

    spec: str
    target: str
    value: float
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        value = self.value if math.isfinite(self.value) else None
        return {"spec": self.spec, "target": self.target, "value": value,
                "passed": self.passed, "detail": self.detail}


def _split(spec: str) -> list[str]:
    parts = [p.strip() for p in spec.split(",")]
    if not spec.strip() or any(not p for p in parts):
        raise GateSpecError(spec, "empty gate; expected e.g. 'p99<500ms,errors<1%'")
    return parts


def _metric(spec: str, name: str) -> tuple[str, bool]:
    found = METRICS.get(name.lower())
    if found is None:
        raise GateSpecError(spec, f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
    return found


def parse_slo(spec: str) -> list[SloGate]:
    """Parse ``p99<500ms,errors<1%`` into SLO gates; raise ``GateSpecError`` (a ValueError).

    The CLI's ``--slo`` values go through here (``paybench run/report/compare --slo``).
    """
    gates: list[SloGate] = []
    for part in _split(spec):
        match = _SLO_RE.match(part)
        if not match:
            raise GateSpecError(part, "expected METRIC<VALUE[unit], e.g. 'p99<500ms' or "
                                "'errors<1%'")
        name, op, raw, unit = match.groups()
        key, _ = _metric(part, name)
        if key in REGRESSION_ONLY:
            raise GateSpecError(part, f"{name} is only a regression gate (e.g. '{name}:10%')")
        value = float(raw)
        if key in LATENCY_KEYS:
            if unit in (None, "ms"):
                pass
            elif unit == "s":
                value *= 1000.0
            elif unit == "us":
                value /= 1000.0
            else:
                raise GateSpecError(part, f"latency needs ms, s or us, not {unit!r}")
        elif key == "error_ratio":
            if unit == "%":
                value /= 100.0
            elif unit is not None:
                raise GateSpecError(part, f"errors need % or a ratio, not {unit!r}")
            elif value > 1.0:
                raise GateSpecError(part, "an error ratio above 1; did you mean a percentage?")
        elif key in ("throughput_rps", "goodput_rps"):
            if unit not in (None, "rps", "/s"):
                raise GateSpecError(part, f"throughput needs rps, not {unit!r}")
        elif unit is not None:
            raise GateSpecError(part, f"{name} takes no unit")
        gates.append(SloGate(part, key, op, value))
    return gates


def parse_regression(spec: str) -> list[RegressionGate]:
    """Parse ``p99:10%,throughput:5%`` into regression gates; raise ``GateSpecError``.

    ``paybench compare --fail-on`` values go through here.
    """
    gates: list[RegressionGate] = []
    for part in _split(spec):
        match = _REG_RE.match(part)
        if not match:
            raise GateSpecError(part, "expected METRIC:PERCENT%, e.g. 'p99:10%'")
        name, raw = match.groups()
        key, higher = _metric(part, name)
        gates.append(RegressionGate(part, key, float(raw) / 100.0, higher))
    return gates


def slo_limits(gates: list[SloGate]) -> tuple[float | None, float | None]:
    """The p99 (ms) and error-ratio limits among ``gates``, used by the knee finder."""
    p99 = next((g.threshold for g in gates if g.metric == "p99_ms" and g.op in ("<", "<=")), None)
    err = next((g.threshold for g in gates if g.metric == "error_ratio" and g.op in ("<", "<=")),
               None)
    return p99, err


def slo_breaches(summary: dict[str, Any], p99_ms: float,
                 error_ratio: float) -> list[dict[str, Any]]:
    """What of the objective ``p99 <= p99_ms, errors <= error_ratio`` a target's medians
    break: ``[{"objective": "p99 <= 500 ms", "value": 812.0, "shown": "812 ms"}]``.

    This marks targets in the report whatever the gates say: SLO gates decide the exit
    code, and by default only on the candidates (see ``gated_targets``).
    """
    out: list[dict[str, Any]] = []
    p99 = (summary.get("p99_ms") or {}).get("median")
    if isinstance(p99, int | float) and p99 > p99_ms:
        out.append({"objective": f"p99 <= {p99_ms:g} ms", "value": p99,
                    "shown": f"{p99:.0f} ms"})
    err = (summary.get("error_ratio") or {}).get("median")
    if isinstance(err, int | float) and err > error_ratio:
        out.append({"objective": f"errors <= {error_ratio:.2%}".replace(".00%", "%"),
                    "value": err, "shown": f"{err:.2%}"})
    return out


def breach_text(breaches: Sequence[dict[str, Any]]) -> str:
    """'breaks p99 <= 500 ms at 812 ms' or '' when nothing is broken."""
    if not breaches:
        return ""
    return "breaks " + " and ".join(f"{b['objective']} at {b['shown']}" for b in breaches)


def gated_targets(results: dict[str, Any], targets: Sequence[str] | None = None) -> list[str]:
    """Targets the SLO gates apply to: ``targets`` if given, else every candidate (all
    targets but the baseline: a migration gates the new service, not the one it replaces);
    a run with one target gates that one."""
    names = list(results.get("targets", {}))
    if targets:
        unknown = [t for t in targets if t not in names]
        if unknown:
            raise ValueError(f"--slo-targets names {', '.join(unknown)}, which the run does "
                             f"not have (it has {', '.join(names)})")
        return list(targets)
    base = results.get("baseline")
    candidates = [n for n in names if n != base]
    return candidates or names


def evaluate_slo(results: dict[str, Any], gates: list[SloGate],
                 targets: Sequence[str] | None = None) -> list[GateResult]:
    """Check each gate against the median (valid trials) of each gated target (see
    ``gated_targets``).

    A target without a value for the metric fails the gate: no evidence is not a pass.
    """
    out: list[GateResult] = []
    gated = gated_targets(results, targets)
    for target, info in results.get("targets", {}).items():
        if target not in gated:
            continue
        summary = info.get("summary", {})
        for gate in gates:
            raw = summary.get(gate.metric, {}).get("median")
            value = float(raw) if isinstance(raw, int | float) else math.nan
            if not math.isfinite(value):
                out.append(GateResult(gate.spec, target, value, False, "no valid trials"))
                continue
            passed = OPERATORS[gate.op](value, gate.threshold)
            out.append(GateResult(gate.spec, target, value, passed,
                                  f"{gate.metric} = {value:.4g} ({'ok' if passed else 'FAILED'})"))
    return out


def evaluate_regression(changes: dict[str, dict[str, Any]], gates: list[RegressionGate],
                        *, significant_only: bool = True) -> list[GateResult]:
    """Check regression gates on ``compare_runs`` output (``changes[target][metric]``).

    A change worse than a gate's limit trips it only when it is significant (the entry's
    Mann-Whitney test): a difference the test cannot tell from noise is reported, not
    gated. ``significant_only=False`` trips on the median change alone, as
    pytest-benchmark does.
    """
    out: list[GateResult] = []
    for target, metrics in changes.items():
        for gate in gates:
            entry = metrics.get(gate.metric, {})
            change = entry.get("change")
            value = float(change) if isinstance(change, int | float) else math.nan
            if not math.isfinite(value):
                out.append(GateResult(gate.spec, target, value, False, "metric missing in a run"))
                continue
            worse = -value if gate.higher_is_better else value
            direction = "worse" if worse > 0 else "better"
            detail = (f"{gate.metric} {abs(value):.1%} {direction} "
                      f"(limit {gate.max_change:.0%})")
            if worse <= gate.max_change:
                out.append(GateResult(gate.spec, target, value, True, detail))
            elif significant_only and not entry.get("significant"):
                why = entry.get("significance") or "not significant"
                p = entry.get("p_value")
                shown = f"p={p:.2f}" if isinstance(p, int | float) and math.isfinite(p) else why
                out.append(GateResult(gate.spec, target, value, True,
                                      f"{detail}, but not significant ({shown}): not gated"))
            else:
                out.append(GateResult(gate.spec, target, value, False, detail))
    return out
