"""Mixed: a weighted blend of checkout, reads, refunds and retries, as in production."""

from __future__ import annotations

from locust import task

from loadtests.scenarios.common import PaymentsUser
from loadtests.scenarios.refunds import refund_flow
from loadtests.scenarios.retry_storm import retry_storm


class MixedUser(PaymentsUser):
    """Mostly checkouts and reads of recent payments; some refunds and retry storms."""

    @task(6)
    def pay(self) -> None:
        self.checkout()

    @task(3)
    def read_recent(self) -> None:
        if self.recent:
            self.read_payment(self.rng.choice(self.recent))
        else:
            self.checkout()

    @task(1)
    def pay_and_refund(self) -> None:
        refund_flow(self)

    @task(1)
    def storm(self) -> None:
        retry_storm(self)
