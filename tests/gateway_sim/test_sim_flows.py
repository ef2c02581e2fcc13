"""The gateway flows driven by a tiny sync driver against the running simulator."""

from __future__ import annotations

import time

import httpx
import pytest
from sim_helpers import drive, unique

from gateway_sim.admin_client import GatewayAdmin
from payments.gateways import charge_flow, refund_flow, refund_status_flow, status_flow
from payments.gateways.base import (
    AttemptStatus,
    ChargeOutcome,
    ChargeRequest,
    GatewayCredentials,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
)


def charge(
    client: httpx.Client, creds: GatewayCredentials, amount: int, method: str = "card", **kw: float
) -> tuple[str, ChargeOutcome]:
    attempt = unique("att_")
    req = ChargeRequest(attempt, amount, "INR", method, reference=unique("pay_"))
    outcome, _ = drive(client, charge_flow(creds, req), **kw)
    return attempt, outcome


def status(client: httpx.Client, creds: GatewayCredentials, attempt: str) -> ChargeOutcome:
    return drive(client, status_flow(creds, attempt))[0]


def wait_status(
    client: httpx.Client, creds: GatewayCredentials, attempt: str, want: AttemptStatus
) -> ChargeOutcome:
    deadline = time.monotonic() + 5
    while True:
        outcome = status(client, creds, attempt)
        if outcome.status is want or time.monotonic() > deadline:
            return outcome
        time.sleep(0.05)


def test_charge_succeeds_and_status_agrees(client: httpx.Client, creds: GatewayCredentials) -> None:
    """A plain charge succeeds with a txn id, and the status read reports the same."""
    attempt, outcome = charge(client, creds, 25_000)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.gateway_txn_id
    assert outcome.amount == 25_000
    again = status(client, creds, attempt)
    assert again.status is AttemptStatus.SUCCEEDED
    assert again.gateway_txn_id == outcome.gateway_txn_id
    assert again.amount == 25_000


@pytest.mark.parametrize("amount", [10_001, 10_008])
def test_decline_hooks_fail(client: httpx.Client, creds: GatewayCredentials, amount: int) -> None:
    """Amounts ending 01 and 08 are declined with a gateway error code."""
    attempt, outcome = charge(client, creds, amount)
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error_code
    assert status(client, creds, attempt).status is AttemptStatus.FAILED


@pytest.mark.parametrize(("amount", "final"), [(10_002, "succeeded"), (10_003, "failed")])
def test_pending_hooks_settle(
    client: httpx.Client, creds: GatewayCredentials, amount: int, final: str
) -> None:
    """Amounts ending 02/03 are pending first, then settle as success/failure."""
    attempt, outcome = charge(client, creds, amount, "upi")
    assert outcome.status is AttemptStatus.PENDING
    settled = wait_status(client, creds, attempt, AttemptStatus(final))
    assert settled.status is AttemptStatus(final)


def test_server_error_is_unknown_then_failed(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """A 5xx (amount ending 04) gives UNKNOWN, never FAILED; status then says failed."""
    attempt, outcome = charge(client, creds, 10_004)
    assert outcome.status is AttemptStatus.UNKNOWN
    assert status(client, creds, attempt).status is AttemptStatus.FAILED


def test_ambiguous_timeout_is_unknown_but_charged(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """A stalled charge (ending 05) times out as UNKNOWN while the gateway did charge."""
    attempt, outcome = charge(client, creds, 10_005, timeout=0.5)
    assert outcome.status is AttemptStatus.UNKNOWN
    assert outcome.error_code == "gateway_timeout"
    assert status(client, creds, attempt).status is AttemptStatus.SUCCEEDED


def test_rate_limit_is_unknown_and_nothing_created(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """A 429 (ending 06) is UNKNOWN; the status read finds no order, so FAILED."""
    attempt, outcome = charge(client, creds, 10_006)
    assert outcome.status is AttemptStatus.UNKNOWN
    assert outcome.error_code in ("gateway_rate_limited", "too_many_requests")
    assert status(client, creds, attempt).status is AttemptStatus.FAILED


def test_reset_after_charge_is_unknown_but_charged(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """A reset after the charge (ending 07) is UNKNOWN and the status shows it charged."""
    attempt, outcome = charge(client, creds, 10_007)
    assert outcome.status is AttemptStatus.UNKNOWN
    assert status(client, creds, attempt).status is AttemptStatus.SUCCEEDED


def test_repeated_charge_flow_does_not_charge_twice(
    client: httpx.Client, admin: GatewayAdmin, creds: GatewayCredentials
) -> None:
    """Re-running charge_flow for the same attempt reads the status instead of paying."""
    attempt = unique("att_")
    req = ChargeRequest(attempt, 30_000, "INR", "card", reference=attempt)
    first, _ = drive(client, charge_flow(creds, req))
    second, sent = drive(client, charge_flow(creds, req))
    assert first.status is second.status is AttemptStatus.SUCCEEDED
    assert len(sent) == 2  # create (duplicate) + status, no second transaction
    ledger = admin.ledger(creds.merchant_id)
    charges = [e for e in ledger["entries"] if e["order_id"] == attempt]
    assert len(charges) == 1


def test_unknown_status_for_missing_order_is_failed(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """An attempt the gateway never saw reads as FAILED (no charge exists)."""
    assert status(client, creds, unique("never_")).status is AttemptStatus.FAILED


def test_refund_lifecycle(
    client: httpx.Client, admin: GatewayAdmin, creds: GatewayCredentials
) -> None:
    """Refunds are pending then succeed, repeat safely, and never exceed the charge."""
    attempt, outcome = charge(client, creds, 50_000)
    assert outcome.status is AttemptStatus.SUCCEEDED
    r1 = RefundRequest(unique("rf_"), attempt, outcome.gateway_txn_id, 20_000, "INR")
    first: RefundOutcome = drive(client, refund_flow(creds, r1))[0]
    assert first.status is RefundStatus.PENDING
    repeat: RefundOutcome = drive(client, refund_flow(creds, r1))[0]
    assert repeat.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
    assert repeat.gateway_refund_id == first.gateway_refund_id
    over = RefundRequest(unique("rf_"), attempt, outcome.gateway_txn_id, 30_001, "INR")
    refused: RefundOutcome = drive(client, refund_flow(creds, over))[0]
    assert refused.status is RefundStatus.FAILED
    deadline = time.monotonic() + 5
    while True:
        settled: RefundOutcome = drive(client, refund_status_flow(creds, r1))[0]
        if settled.status is RefundStatus.SUCCEEDED or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert settled.status is RefundStatus.SUCCEEDED
    ledger = admin.ledger(creds.merchant_id)
    refunds = [e for e in ledger["entries"] if e["order_id"] == attempt and e["kind"] == "refund"]
    assert [e["amount"] for e in refunds] == [20_000]


def test_refund_failure_hook(client: httpx.Client, creds: GatewayCredentials) -> None:
    """A refund amount ending 91 is accepted, then fails."""
    attempt, outcome = charge(client, creds, 50_000)
    req = RefundRequest(unique("rf_"), attempt, outcome.gateway_txn_id, 1_091, "INR")
    assert drive(client, refund_flow(creds, req))[0].status is RefundStatus.PENDING
    time.sleep(0.4)
    final: RefundOutcome = drive(client, refund_status_flow(creds, req))[0]
    assert final.status is RefundStatus.FAILED


def test_refund_server_error_is_unknown(client: httpx.Client, creds: GatewayCredentials) -> None:
    """A 5xx on a refund (amount ending 94) is UNKNOWN; the refund does not exist."""
    attempt, outcome = charge(client, creds, 50_000)
    req = RefundRequest(unique("rf_"), attempt, outcome.gateway_txn_id, 1_094, "INR")
    assert drive(client, refund_flow(creds, req))[0].status is RefundStatus.UNKNOWN
    assert drive(client, refund_status_flow(creds, req))[0].status is RefundStatus.FAILED


def test_unreachable_gateway_is_failed_for_charges(creds: GatewayCredentials) -> None:
    """A connect error never reached the gateway: the charge is FAILED, not UNKNOWN."""
    with httpx.Client(base_url="http://127.0.0.1:9") as dead:
        _, outcome = charge(dead, creds, 10_000)
        assert outcome.status is AttemptStatus.FAILED
        assert status(dead, creds, "x").status is AttemptStatus.UNKNOWN


def test_refund_stall_is_unknown_but_accepted(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """A stalled refund (amount ending 95) times out as UNKNOWN; the refund exists."""
    attempt, outcome = charge(client, creds, 50_000)
    req = RefundRequest(unique("rf_"), attempt, outcome.gateway_txn_id, 1_095, "INR")
    lost: RefundOutcome = drive(client, refund_flow(creds, req), timeout=0.5)[0]
    assert lost.status is RefundStatus.UNKNOWN
    found: RefundOutcome = drive(client, refund_status_flow(creds, req))[0]
    assert found.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
