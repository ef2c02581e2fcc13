"""The payment state machine."""

from __future__ import annotations

import re

import pytest

from payments import sql
from payments.states import (
    ALLOWED_TRANSITIONS,
    FINAL_CHARGE_STATES,
    PaymentStatus,
    can_transition,
    status_after_refund,
)


def test_terminal_states_never_move_back() -> None:
    """failed and refunded allow no transition; nothing returns to created or processing."""
    assert ALLOWED_TRANSITIONS[PaymentStatus.FAILED] == frozenset()
    assert ALLOWED_TRANSITIONS[PaymentStatus.REFUNDED] == frozenset()
    for source in PaymentStatus:
        assert not can_transition(source, PaymentStatus.CREATED)
        if source is not PaymentStatus.CREATED:
            assert not can_transition(source, PaymentStatus.PROCESSING)


def test_final_states_only_move_through_refunds() -> None:
    """From a final charge state the only moves are refund states."""
    refund_states = {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    for source in FINAL_CHARGE_STATES:
        assert ALLOWED_TRANSITIONS[source] <= refund_states


@pytest.mark.parametrize(
    ("refunded", "status"),
    [(0, PaymentStatus.SUCCEEDED), (1, PaymentStatus.PARTIALLY_REFUNDED),
     (999, PaymentStatus.PARTIALLY_REFUNDED), (1000, PaymentStatus.REFUNDED)],
)
def test_status_after_refund(refunded: int, status: PaymentStatus) -> None:
    """Refunded amounts map to partially_refunded and refunded at the full amount."""
    assert status_after_refund(1000, refunded) is status


def _sql_transitions() -> set[tuple[str, str]]:
    """(from, to) pairs that the compare-and-set statements can perform."""
    pairs = {("created", "processing")} if "status = 'created'" in sql.BEGIN_ATTEMPT else set()
    if "payments.status = 'processing'" in sql.SETTLE_ATTEMPT:
        pairs |= {("processing", "succeeded"), ("processing", "failed")}
    froms = re.findall(r"'(\w+)'", sql.RESERVE_REFUND.split("AND status IN")[1].split(")")[0])
    for source in froms:
        pairs |= {(source, "partially_refunded"), (source, "refunded")}
    return pairs


def test_sql_compare_and_set_matches_state_machine() -> None:
    """Every transition the SQL statements can make is allowed by the state machine."""
    for source, target in _sql_transitions():
        assert can_transition(PaymentStatus(source), PaymentStatus(target)), (source, target)
    assert len(_sql_transitions()) == 7
