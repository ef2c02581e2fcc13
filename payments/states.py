"""Payment states and the transitions allowed between them.

``created -> processing -> succeeded | failed`` and
``succeeded -> partially_refunded -> refunded``. Terminal states never move
backwards; the SQL compare-and-set statements in ``payments.sql`` encode the
same table, and ``tests/payments`` checks the two agree.
"""

from __future__ import annotations

import enum


class PaymentStatus(enum.StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


ALLOWED_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATED: frozenset({PaymentStatus.PROCESSING}),
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    ),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    ),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}

# States from which money has been captured and may be refunded.
REFUNDABLE: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED}
)

# States a payment never leaves except through refunds.
FINAL_CHARGE_STATES: frozenset[PaymentStatus] = frozenset(
    {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.FAILED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    }
)


def can_transition(current: PaymentStatus, new: PaymentStatus) -> bool:
    """Whether moving from ``current`` to ``new`` is allowed."""
    return new in ALLOWED_TRANSITIONS[current]


def status_after_refund(amount: int, amount_refunded: int) -> PaymentStatus:
    """The status of a captured payment once ``amount_refunded`` has settled."""
    if amount_refunded <= 0:
        return PaymentStatus.SUCCEEDED
    if amount_refunded >= amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED
