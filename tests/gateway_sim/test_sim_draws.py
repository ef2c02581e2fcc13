"""Per-call draws: the same call meets the same outcome; the profile's rates still hold."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import pytest

from gateway_sim import lifecycle
from gateway_sim.config import PROFILES, Profile
from gateway_sim.draws import CallKey
from gateway_sim.hooks import ChargePlan, EntryFault, RefundResult, TxnResult
from gateway_sim.runtime import SimState
from gateway_sim.state import Order
from payments.gateways.base import GatewayName

N = 40_000


def keys(state: SimState, n: int, merchant: str = "jm1_legacy") -> list[CallKey]:
    """Keys of ``n`` orders as the APIs make them: distinct content, or repeats ranked."""
    return [
        state.draws.order_key("juspay", merchant, 10_000 + 100 * (i % 50), "INR", f"c{i % 97}")
        for i in range(n)
    ]


def within(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    """``count`` successes in ``n`` trials is within ``sigmas`` binomial deviations of ``p``."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


def test_same_key_same_draws_whatever_the_merchant_or_order_of_calls() -> None:
    """Keys ignore the merchant; plans and delays follow the key, not the arrival order."""
    legacy, engine = SimState(PROFILES["realistic"], 7), SimState(PROFILES["realistic"], 7)
    a = keys(legacy, 500, "jm1_legacy")
    b = keys(engine, 500, "jm1_engine")
    assert a == b
    forward = [(legacy.charge_plan(k, 10_000), legacy.draw_delay("auth", k)) for k in a]
    backward = [(engine.charge_plan(k, 10_000), engine.draw_delay("auth", k)) for k in reversed(b)]
    assert forward == list(reversed(backward))
    assert len({d for _, d in forward}) > 400  # latencies vary from call to call


def test_seed_changes_the_draws() -> None:
    """Another seed gives other outcomes for the same calls; the same seed the same ones."""
    profile = PROFILES["fast"]
    one, again, other = SimState(profile, 1), SimState(profile, 1), SimState(profile, 2)
    calls = keys(one, 5_000)
    assert calls == keys(again, 5_000) == keys(other, 5_000)
    plans = [one.charge_plan(k, 10_000) for k in calls]
    assert plans == [again.charge_plan(k, 10_000) for k in calls]
    others = [other.charge_plan(k, 10_000) for k in calls]
    changed = sum(p != q for p, q in zip(plans, others, strict=True))
    assert changed > 200  # ~15% of plans are not a plain charge, in different places


def test_equal_content_is_told_apart_by_rank() -> None:
    """Repeated identical orders get ranks 0, 1, 2 and so independent draws."""
    state = SimState(PROFILES["fast"], 3)
    twins = [state.draws.order_key("paytm", "PTM1", 5_000, "INR", "guest") for _ in range(3)]
    assert [k[-1] for k in twins] == [0, 1, 2]
    assert state.draws.order_key("paytm", "PTM2", 5_000, "INR", "guest")[-1] == 0
    assert len({state.draw_delay("auth", k) for k in twins}) == 3  # three independent draws


@pytest.mark.parametrize("name", ["fast", "realistic"])
def test_charge_fault_rates_match_the_profile(name: str) -> None:
    """Over 40,000 orders each charge outcome appears at its configured rate (5 sigma)."""
    profile = PROFILES[name]
    faults = profile.faults
    state = SimState(profile, 17)
    plans = [state.charge_plan(k, 10_000) for k in keys(state, N)]
    limited = sum(p.entry is EntryFault.RATE_LIMIT for p in plans)
    txn = Counter(p.txn for p in plans if p.entry is EntryFault.NONE)
    admitted = N - limited
    assert within(limited, N, faults.rate_limit)
    assert within(txn[TxnResult.SERVER_ERROR], admitted, faults.server_error)
    assert within(txn[TxnResult.RESET], admitted, faults.reset)
    assert within(txn[TxnResult.AMBIGUOUS_TIMEOUT], admitted, faults.ambiguous_timeout)
    declines = txn[TxnResult.DECLINE] + txn[TxnResult.DECLINE_OTHER]
    assert within(declines, admitted, faults.decline)
    assert within(txn[TxnResult.DECLINE_OTHER], declines, 0.3)


def test_pending_rates_for_upi_match_the_profile() -> None:
    """UPI payments are pending at the configured rate; a share of those then fail."""
    profile = PROFILES["fast"]
    state = SimState(profile, 5)
    orders = [
        Order(GatewayName.PAYTM, "PTM1", f"o{i}", 10_000, "INR", ChargePlan(), key=k)
        for i, k in enumerate(keys(state, N))
    ]
    for order in orders:
        lifecycle.refine_plan(state, order, "upi")
    results = Counter(o.plan.txn for o in orders)
    pending = results[TxnResult.PENDING_SUCCESS] + results[TxnResult.PENDING_FAILURE]
    assert within(pending, N, profile.faults.pending)
    assert within(results[TxnResult.PENDING_FAILURE], pending, profile.faults.pending_failure)


@pytest.mark.parametrize(
    ("label", "rate", "draw"),
    [
        ("status 429", PROFILES["fast"].faults.rate_limit,
         lambda s, k: s.call_fault(k) is EntryFault.RATE_LIMIT),
        ("status 5xx", PROFILES["fast"].faults.server_error,
         lambda s, k: s.call_fault(k) is EntryFault.SERVER_ERROR),
        ("refund 5xx", PROFILES["fast"].faults.server_error,
         lambda s, k: s.refund_plan(k, 10_000) is RefundResult.SERVER_ERROR),
    ],
)  # fmt: skip
def test_call_fault_rates_match_the_profile(
    label: str, rate: float, draw: Callable[[SimState, CallKey], bool]
) -> None:
    """Status reads and refunds fail at the configured rates, drawn per call key."""
    state = SimState(PROFILES["fast"], 23)
    hits = sum(draw(state, (*k, "status", 0)) for k in keys(state, N))
    assert within(hits, N, rate), label


def test_stalls_and_latency_follow_the_realistic_profile() -> None:
    """Stalls happen at their rate and auth latency keeps its configured p50 and p99."""
    profile: Profile = PROFILES["realistic"]
    state = SimState(profile, 29)
    delays = [state.draw_delay("auth", k) for k in keys(state, N)]
    stalls = sum(stalled for stalled, _ in delays)
    assert within(stalls, N, profile.faults.stall)
    ms = sorted(seconds * 1000 for stalled, seconds in delays if not stalled)
    spec = profile.latency["auth"]
    assert ms[len(ms) // 2] == pytest.approx(spec.p50_ms, rel=0.05)
    assert ms[int(len(ms) * 0.99)] == pytest.approx(spec.p99_ms, rel=0.08)
