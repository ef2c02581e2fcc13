"""The sustained rule, the derived objective and the capacity figures of a target."""

from __future__ import annotations

from typing import Any

import pytest

from reports import capacity as rcap
from reports.verdict import capacity_sentence

OBJECTIVE = rcap.Objective(p99_ms=500.0, error_ratio=0.01)


def fig(**kw: Any) -> dict[str, Any]:
    """A valid, healthy trial at 10 iterations/s unless told otherwise."""
    base: dict[str, Any] = {
        "trial": "t-1", "target": "t", "valid": True, "offered_rps": 10.0,
        "started_rps": 20.0, "throughput_rps": 20.0, "window_s": 10.0, "p50_ms": 100.0,
        "p99_ms": 300.0, "error_ratio": 0.0, "timed_out": 0, "scheduled_starts": 100,
        "late_starts": 0, "dropped_starts": 0, "iterations_rps": 10.0,
        "latency_growth": {"first_ms": 100.0, "last_ms": 110.0}, "phase": "search",
    }
    base.update(kw)
    return base


def test_a_healthy_step_is_sustained() -> None:
    """Keeping up, on time, no errors, flat latency, p99 within: sustained."""
    verdict = rcap.assess_step(fig(), OBJECTIVE)
    assert verdict.sustained is True
    assert verdict.reasons == ()


@pytest.mark.parametrize(("change", "reason"), [
    ({"throughput_rps": 18.0}, "completed 18.0 of the 20.0 requests/s"),
    ({"late_starts": 1, "dropped_starts": 1}, "2 of 100 starts late or dropped"),
    ({"error_ratio": 0.02}, "errors 2.00% > 1.00%"),
    ({"latency_growth": {"first_ms": 100.0, "last_ms": 400.0}}, "queue growing"),
    ({"p99_ms": 501.0}, "p99 501 ms > 500 ms"),
    ({"p99_ms": 900.0, "timed_out": 3}, "(3 timed out)"),
    ({"aborted": "5 requests already slower"}, "stopped early"),
])
def test_each_rule_can_fail_a_step(change: dict[str, Any], reason: str) -> None:
    """Every clause of the rule fails a step on its own, and says why."""
    verdict = rcap.assess_step(fig(**change), OBJECTIVE)
    assert verdict.sustained is False
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_small_wobbles_do_not_fail_a_step() -> None:
    """One request of edge slack, and latency noise under a quarter of the objective."""
    assert rcap.assess_step(fig(throughput_rps=18.95), OBJECTIVE).sustained is True
    noisy = fig(latency_growth={"first_ms": 60.0, "last_ms": 130.0})
    assert rcap.assess_step(noisy, OBJECTIVE).sustained is True


def test_a_generator_failure_is_inconclusive() -> None:
    """A trial invalid because of the load generator says nothing about the target."""
    verdict = rcap.assess_step(fig(valid=False, invalid_reasons=["generator fell behind"]),
                               OBJECTIVE)
    assert verdict.sustained is None
    assert verdict.reasons == ("generator fell behind",)


def test_objective_is_derived_from_pooled_unloaded_latencies() -> None:
    """2 x the pooled p99, rounded up to two significant digits, and explained."""
    unloaded = {"legacy": [100.0] * 98 + [300.0, 310.0], "engine": [90.0] * 100}
    objective = rcap.derive_objective(unloaded, factor=2.0, rate=2.0)
    # p99 of the 200 pooled samples, interpolated as numpy does: 100 + 0.01 x 200
    assert objective.basis_ms == pytest.approx(102.0)
    assert objective.p99_ms == 210.0  # 204 rounded up to two significant digits
    assert objective.source == "derived"
    assert "200 requests of legacy, engine at 2 iterations/s" in objective.explanation
    assert rcap.round_up(624.0) == 630.0
    assert rcap.round_up(87.2) == 88.0
    assert rcap.Objective.from_doc(objective.to_doc()) == objective
    assert objective.to_doc().to_json() == objective.as_dict()  # config.json as results.json
    with pytest.raises(ValueError, match="no unloaded latency"):
        rcap.derive_objective({"legacy": []})


def test_capacity_is_the_highest_rate_most_of_its_trials_held() -> None:
    """A rate counts only if more than half of its trials held it; intervals over them."""
    figs = [
        fig(trial="a-1", offered_rps=10.0, started_rps=20.0, throughput_rps=20.0),
        fig(trial="a-2", offered_rps=20.0, started_rps=40.0, throughput_rps=40.0),
        fig(trial="a-3", offered_rps=40.0, started_rps=80.0, throughput_rps=50.0),
        fig(trial="a-4", offered_rps=20.0, started_rps=40.0, throughput_rps=41.0,
            phase="confirm"),
        fig(trial="a-5", offered_rps=20.0, started_rps=40.0, throughput_rps=39.5,
            phase="confirm"),
        fig(trial="a-6", offered_rps=20.0, p99_ms=800.0, phase="confirm"),
        fig(trial="a-7", offered_rps=30.0, p99_ms=800.0),
    ]
    cap = rcap.target_capacity(figs, OBJECTIVE)
    assert cap["max_sustainable_offered"] == 20.0
    assert (cap["held_at_capacity"], cap["trials_at_capacity"]) == (3, 4)
    assert cap["max_sustainable_rps"] == 40.0  # median of the held trials' completions
    assert cap["interval"]["n"] == 3
    assert cap["knee_offered"] == 30.0
    assert "p99 800 ms" in cap["knee_reason"]
    assert cap["offered_unit"] == "iterations/s"
    assert cap["rate_unit"] == "requests/s"


def test_capacity_limited_by_the_generator_says_so() -> None:
    """An inconclusive step right above the capacity marks it as a lower bound."""
    figs = [fig(trial="a-1"), fig(trial="a-2", offered_rps=20.0, valid=False,
                                  invalid_reasons=["the load generator fell behind"])]
    assert rcap.target_capacity(figs, OBJECTIVE)["limited_by"] == "generator"


def test_summary_and_verdict_name_units_and_the_common_rate() -> None:
    """Ratios with bootstrap intervals, latency at the baseline's capacity, units in words."""
    legacy = [fig(trial=f"legacy-{i}", target="legacy", offered_rps=5.0, started_rps=10.0,
                  throughput_rps=(10.0, 10.2, 10.2, 10.4)[i], p99_ms=400.0 + i) for i in range(4)]
    engine = [fig(trial=f"engine-{i}", target="engine", offered_rps=50.0, started_rps=100.0,
                  throughput_rps=100.0 + i, p99_ms=300.0) for i in range(4)]
    common = [fig(trial="engine-9", target="engine", offered_rps=5.0, p99_ms=120.0,
                  phase="common")]
    summary = rcap.summarise(legacy + engine + common, OBJECTIVE, baseline="legacy",
                             targets=["legacy", "engine"])
    ratio = summary["ratios"]["engine"]
    assert 9.5 < ratio["ratio"] < 10.5
    assert ratio["low"] <= ratio["ratio"] <= ratio["high"]
    assert summary["common_rate"]["engine"]["engine"]["p99_ms"] == 120.0
    text, numbers = capacity_sentence(summary, "legacy", "engine", "the `fast` gateway")
    assert text.startswith("With the `fast` gateway, at p99 <= 500 ms, engine sustains 102 req/s "
                           "and legacy 10.2 req/s")
    assert "At 5 iterations/s" in text
    assert "p99 engine 120 ms vs legacy 402 ms" in text
    assert numbers["ratio"] == ratio["ratio"]
