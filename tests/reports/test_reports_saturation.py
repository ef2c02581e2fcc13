"""Whether a closed-model run saturated each target, and what the verdict says about it."""

from __future__ import annotations

from typing import Any

from reports.saturation import target_saturation
from reports.verdict import _saturation_note


def closed(**kw: Any) -> dict[str, Any]:
    """A valid closed-model trial of 10 s with 20 users."""
    base: dict[str, Any] = {"model": "closed", "valid": True, "window_s": 10.0, "users": 20,
                            "cpu_s_by_role": {"legacy": 2.0, "engine": 4.0, "locust": 3.0}}
    base.update(kw)
    return base


def test_sync_workers_with_more_users_than_workers_are_saturated() -> None:
    """20 users on 2 one-at-a-time workers keep every worker busy."""
    sat = target_saturation([closed()], {"workers": 2, "requests_per_worker": 1},
                            role="legacy", cores=2)
    assert sat is not None
    assert sat["saturated"] is True
    assert "every worker busy" in sat["reasons"][0]


def test_an_event_loop_with_cpu_to_spare_is_not_saturated() -> None:
    """0.4 of 2 cores, machine 45%: not saturated, and the detail says how far from it."""
    sat = target_saturation([closed()], {"workers": 2, "requests_per_worker": None},
                            role="engine", cores=2)
    assert sat is not None
    assert sat["saturated"] is False
    assert "0.40 cores of 2" in sat["detail"]


def test_cpu_bound_target_or_machine_is_saturated() -> None:
    """Its processes at 80% of their cores, or the machine at 90%, count as saturated."""
    busy = closed(cpu_s_by_role={"engine": 17.0, "locust": 1.0})
    sat = target_saturation([busy], {"workers": 2}, role="engine", cores=2)
    assert sat is not None
    assert sat["saturated"]
    assert any("1.70 of the 2 cores" in r for r in sat["reasons"])
    machine = closed(cpu_s_by_role={"engine": 5.0, "postgres": 9.0, "locust": 5.0})
    sat = target_saturation([machine], {"workers": 2}, role="engine", cores=2)
    assert sat is not None
    assert any("machine's CPU was 95% busy" in r for r in sat["reasons"])
    assert target_saturation([closed(model="open")], {}, role="engine", cores=2) is None


def test_verdict_calls_an_unsaturated_winner_a_lower_bound() -> None:
    """The faster target had room left: the ratio is a lower bound, not a capacity claim."""
    results = {"saturation": {
        "legacy": {"saturated": True, "reasons": ["every worker busy"], "detail": ""},
        "engine": {"saturated": False, "reasons": [], "detail": "0.40 cores of 2"},
    }}
    note = _saturation_note(results, "legacy", "engine", 4.5)
    assert "legacy was saturated (every worker busy)" in note
    assert "engine was not saturated (0.40 cores of 2)" in note
    assert "lower bound" in note
    results["saturation"]["engine"]["saturated"] = True
    assert "lower bound" not in _saturation_note(results, "legacy", "engine", 4.5)
