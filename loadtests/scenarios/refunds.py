"""Refunds: pay, then refund in two partial steps, then check the refunded total."""

from __future__ import annotations

import gevent
from locust import task

from loadtests.scenarios.common import PaymentsUser

PAY_AMOUNT = 10000
REFUND_STEP = 2500
# amount_refunded moves as refunds settle; it never exceeds the two refunds asked for.
REFUND_STATES = frozenset({"succeeded", "partially_refunded"})


class RefundsUser(PaymentsUser):
    """A support agent refunding part of a fresh payment twice."""

    @task
    def pay_and_refund(self) -> None:
        refund_flow(self)


def refund_flow(user: PaymentsUser) -> None:
    """Pay, refund twice in part, poll the payment until both refunds are reflected."""
    payment = user.create_payment(amount=PAY_AMOUNT)
    if payment is None:
        return
    final = user.await_final(payment)
    if final is None or final["status"] != "succeeded":
        return  # only captured payments can be refunded
    for _ in range(2):
        if user.refund(final["id"], REFUND_STEP) is None:
            return
    # Refunds settle at the gateway asynchronously: poll until both have landed.
    for _ in range(user.settings.poll_max):
        payment = user.read_payment(
            final["id"], name="GET /v1/payments/{id} [refunded]", status_in=REFUND_STATES,
            max_refunded=2 * REFUND_STEP,
        )
        if payment is None or payment["amount_refunded"] >= 2 * REFUND_STEP:
            return
        gevent.sleep(user.settings.poll_interval_s)
