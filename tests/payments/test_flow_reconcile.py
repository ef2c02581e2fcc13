"""The reconciler's pass against scripted effects: which attempts and refunds it asks the
gateway about, what it settles and counts, and that one bad row does not stop it."""

from __future__ import annotations

from typing import Any

import pytest

from payments import sql
from payments.flows.reconcile import ReconcileReport, reconcile_once
from payments.testing import Script
from tests.payments.flow_data import (
    ATT,
    MERCHANT_ROW,
    MID,
    PAY,
    RE,
    TIMEOUT,
    attempt_row,
    context,
    juspay_order,
    juspay_refunded,
    payment_row,
    refund_row,
)

pytestmark = pytest.mark.pure

PROCESSING = payment_row(status="processing", attempt_id=ATT, version=2)
SUCCEEDED = payment_row(status="succeeded", attempt_id=ATT, gateway_txn_id="txn_1", version=3)
UNSETTLED = {"id": ATT, "payment_id": PAY, "merchant_id": MID, "gateway": "juspay"}


def attempt_steps(script: Script, status_reply: Any, settled: dict[str, Any]) -> Script:
    """One unsettled attempt: its payment, the attempt, the gateway's status, the settle."""
    return (
        script.query(sql.GET_PAYMENT, (PAY, MID), returns=PROCESSING)
        .query(sql.GET_ATTEMPT, (ATT,), returns=attempt_row())
        .http("GET", f"/orders/{ATT}", status_reply, kind="status")
        .query(sql.SETTLE_ATTEMPT, returns=settled)
    )


def test_pass_settles_attempts_the_gateway_resolved_and_counts_them() -> None:
    """Unsettled attempts older than the minimum age are asked about; a resolved one is
    settled and re-cached; one still unknown is counted as checked only."""
    script = Script().query(sql.UNSETTLED_ATTEMPTS, (5.0, 100), fetch="all",
                            returns=[UNSETTLED, UNSETTLED])  # fmt: skip
    attempt_steps(script, juspay_order("CHARGED", txn_id="txn_1"), SUCCEEDED)
    script.cache_put(f"pay:{MID}:{PAY}", version=3)
    attempt_steps(script, TIMEOUT, PROCESSING)
    script.query(sql.UNSETTLED_REFUNDS, (5.0, 100), fetch="all", returns=[])
    assert script.run(reconcile_once(context())) == ReconcileReport(2, 1, 0, 0)


def test_pass_skips_a_row_whose_merchant_is_gone_and_goes_on() -> None:
    """A row of an unknown merchant is skipped; the next one (merchant now looked up by id
    and cached) is still reconciled."""
    stray = {**UNSETTLED, "merchant_id": "mer_gone"}
    script = (
        Script()
        .query(sql.UNSETTLED_ATTEMPTS, fetch="all", returns=[stray, UNSETTLED])
        .query(sql.MERCHANT_BY_ID, ("mer_gone",), returns=None)
        .query(sql.MERCHANT_BY_ID, (MID,), returns=MERCHANT_ROW)
    )
    attempt_steps(script, juspay_order("CHARGED", txn_id="txn_1"), SUCCEEDED)
    script.cache_put().query(sql.UNSETTLED_REFUNDS, fetch="all", returns=[])
    report = script.run(reconcile_once(context(signed_in=False)))
    assert report == ReconcileReport(2, 1, 0, 0)


def test_pass_settles_refunds_from_the_gateways_status() -> None:
    """Unsettled refunds are read back from the gateway and settled; a settled one counts."""
    refunded = {**SUCCEEDED, "status": "partially_refunded", "amount_refunded": 2500}
    script = (
        Script()
        .query(sql.UNSETTLED_ATTEMPTS, fetch="all", returns=[])
        .query(sql.UNSETTLED_REFUNDS, (5.0, 100), fetch="all", returns=[refund_row(RE)])
        .query(sql.GET_PAYMENT, (PAY, MID), returns=SUCCEEDED)
        .http("GET", f"/orders/{ATT}", juspay_refunded(RE, "SUCCESS"), kind="status")
        .query(sql.SETTLE_REFUND, (RE, "succeeded", "rfnd_1", None, None),
               returns=refund_row(RE, status="succeeded"))
        .query(sql.GET_PAYMENT, returns=refunded)
        .cache_put(f"pay:{MID}:{PAY}")
    )
    assert script.run(reconcile_once(context())) == ReconcileReport(0, 0, 1, 1)


def test_pass_over_nothing_unsettled_asks_two_queries() -> None:
    """With nothing unsettled a pass is two reads and no gateway call."""
    script = (
        Script()
        .query(sql.UNSETTLED_ATTEMPTS, (5.0, 7), fetch="all", returns=[])
        .query(sql.UNSETTLED_REFUNDS, (5.0, 7), fetch="all", returns=[])
    )
    assert script.run(reconcile_once(context(), limit=7)) == ReconcileReport(0, 0, 0, 0)
