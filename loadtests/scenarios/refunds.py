"""Refunds: pay, then refund in two partial steps, then check the refunded total."""

from __future__ import annotations

from locust import task

from loadtests.scenarios.common import PaymentsUser

PAY_AMOUNT = 10000
REFUND_STEP = 2500


class RefundsUser(PaymentsUser):
    """A support agent refunding part of a fresh payment twice."""

    @task
    def pay_and_refund(self) -> None:
        refund_flow(self)


def refund_flow(user: PaymentsUser) -> None:
    """Pay, refund twice in part, read back the refunded total."""
    payment = user.create_payment(amount=PAY_AMOUNT)
    if payment is None:
        return
    final = user.await_final(payment)
    if final is None or final["status"] != "succeeded":
        return  # only captured payments can be refunded
    for _ in range(2):
        if user.refund(final["id"], REFUND_STEP) is None:
            return
    user.read_payment(
        final["id"],
        name="GET /v1/payments/{id} [refunded]",
        amount_refunded=2 * REFUND_STEP,
        status="partially_refunded",
    )
