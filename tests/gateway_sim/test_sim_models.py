"""Latency model, fault plans and profile overrides, tested without any server."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from gateway_sim.config import PROFILES, LatencySpec, apply_overrides
from gateway_sim.errors import ConfigError
from gateway_sim.hooks import EntryFault, RefundResult, TxnResult, plan_charge, plan_refund
from gateway_sim.latency import LatencyModel, build_models

N = 10_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.mark.parametrize(
    "spec", [LatencySpec(400, 3000), LatencySpec(80, 400), LatencySpec(50, 200)]
)
def test_latency_percentiles_match_configuration(spec: LatencySpec) -> None:
    """p50 and p99 of 10,000 seeded draws are within 5% of the configured values."""
    model = LatencyModel(spec, random.Random(12345))
    draws = [model.draw() * 1000 for _ in range(N)]
    assert percentile(draws, 0.50) == pytest.approx(spec.p50_ms, rel=0.05)
    assert percentile(draws, 0.99) == pytest.approx(spec.p99_ms, rel=0.05)


def test_latency_is_seeded_and_instant_is_zero() -> None:
    """The same seed gives the same draws; an instant spec always draws zero."""
    a = build_models(PROFILES["realistic"].latency, seed=3)["auth"]
    b = build_models(PROFILES["realistic"].latency, seed=3)["auth"]
    assert [a.draw() for _ in range(50)] == [b.draw() for _ in range(50)]
    instant = build_models(PROFILES["instant"].latency, seed=3)
    assert all(m.draw() == 0.0 for m in instant.values())


def test_fault_rates_match_the_profile() -> None:
    """Over 20,000 card orders each fault appears at its configured rate (+-30%)."""
    faults = PROFILES["fast"].faults
    rng = random.Random(99)
    plans = [plan_charge(12_345_600, "card", faults, rng, hooks=True) for _ in range(20_000)]
    txn = Counter(p.txn for p in plans if p.entry is EntryFault.NONE)
    limited = sum(1 for p in plans if p.entry is EntryFault.RATE_LIMIT)
    n = len(plans)
    declines = (txn[TxnResult.DECLINE] + txn[TxnResult.DECLINE_OTHER]) / n
    assert declines == pytest.approx(faults.decline, rel=0.3)
    assert txn[TxnResult.SERVER_ERROR] / n == pytest.approx(faults.server_error, rel=0.3)
    assert limited / n == pytest.approx(faults.rate_limit, rel=0.3)
    assert txn[TxnResult.CHARGE] / n == pytest.approx(0.92, abs=0.01)
    assert txn[TxnResult.PENDING_SUCCESS] == 0  # cards are never pending by chance


def test_upi_is_often_pending() -> None:
    """UPI orders are pending at the configured rate and sometimes settle as failed."""
    faults = PROFILES["fast"].faults
    rng = random.Random(5)
    plans = [plan_charge(50_000, "upi", faults, rng, hooks=True).txn for _ in range(10_000)]
    pending = sum(p in (TxnResult.PENDING_SUCCESS, TxnResult.PENDING_FAILURE) for p in plans)
    assert pending / 10_000 == pytest.approx(faults.pending * 0.92, rel=0.1)
    assert TxnResult.PENDING_FAILURE in plans


def test_instant_has_no_faults_but_hooks_apply() -> None:
    """instant never faults by chance; amount hooks still force outcomes."""
    faults = PROFILES["instant"].faults
    rng = random.Random(1)
    assert {
        plan_charge(a, "upi", faults, rng, hooks=True).txn for a in range(100, 10_000, 100)
    } == {TxnResult.CHARGE}
    assert plan_charge(501, "card", faults, rng, hooks=True).txn is TxnResult.DECLINE
    assert plan_charge(506, "card", faults, rng, hooks=True).entry is EntryFault.RATE_LIMIT
    assert plan_charge(501, "card", faults, rng, hooks=False).txn is TxnResult.CHARGE
    assert plan_refund(1_091, faults, rng, hooks=True) is RefundResult.FAILURE
    assert plan_refund(1_094, faults, rng, hooks=True) is RefundResult.SERVER_ERROR


def test_overrides_apply_on_a_named_profile() -> None:
    """Overrides pick a base profile and change only the named settings."""
    profile = apply_overrides(
        PROFILES["instant"],
        {
            "profile": "fast",
            "latency": {"auth": {"p50_ms": 10, "p99_ms": 40}},
            "faults": {"decline": 0.5},
            "webhook": {"max_attempts": 2},
            "stall_s": 1,
        },
    )
    assert profile.name == "fast"
    assert profile.latency["auth"] == LatencySpec(10, 40)
    assert profile.latency["status"] == PROFILES["fast"].latency["status"]
    assert profile.faults.decline == 0.5
    assert profile.faults.server_error == PROFILES["fast"].faults.server_error
    assert profile.webhook.max_attempts == 2
    assert profile.stall_s == 1.0


@pytest.mark.parametrize("ms", [0, 0.0, 0.5, 150.0])
def test_any_latency_from_zero_overrides_a_profile_declared_with_whole_numbers(ms: float) -> None:
    """fast's latencies are written as ints; 0 and fractional milliseconds still apply exactly."""
    profile = apply_overrides(
        PROFILES["fast"], {"profile": "fast", "latency": {"auth": {"p50_ms": ms, "p99_ms": 4 * ms}}}
    )
    assert profile.latency["auth"] == LatencySpec(ms, 4 * ms)
    assert isinstance(profile.latency["auth"].p50_ms, float)


@pytest.mark.parametrize(
    "bad",
    [
        {"webhook": {"max_attempts": 0}},
        {"webhook": {"max_attempts": 2.5}},
        {"profile": "nope"},
        {"profile": 7},
        {"profile": ["fast"]},
        {"faults": {"decline": 2}},
        {"faults": {"nonsense": 0.1}},
        {"latency": {"auth": {"p50_ms": 100, "p99_ms": 10}}},
        {"latency": {"other": {}}},
        {"hooks": "yes"},
        {"stall_s": -1},
    ],
)
def test_bad_overrides_are_rejected(bad: dict[str, object]) -> None:
    """Unknown names, out-of-range rates and inverted percentiles raise ConfigError."""
    with pytest.raises(ConfigError):
        apply_overrides(PROFILES["instant"], bad)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_document_round_trips(name: str) -> None:
    """GET /profile's document PUT back yields the same profile (save/restore works)."""
    assert apply_overrides(PROFILES["instant"], PROFILES[name].to_dict()) == PROFILES[name]


def test_whole_get_document_is_accepted_back() -> None:
    """The exact body GET /__admin__/profile returns, wrapper included, restores the profile."""
    document = {"profile": PROFILES["fast"].to_dict(), "available": sorted(PROFILES)}
    assert apply_overrides(PROFILES["instant"], document) == PROFILES["fast"]
