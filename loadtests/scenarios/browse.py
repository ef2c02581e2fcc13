"""Browse: read-heavy traffic on existing payments (served through the Redis cache)."""

from __future__ import annotations

from typing import Any

from locust import task

from loadtests.scenarios.common import PaymentsUser


class BrowseUser(PaymentsUser):
    """A merchant dashboard: a few payments made at start, then mostly reads of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool: list[dict[str, Any]] = []

    def on_start(self) -> None:
        super().on_start()
        for _ in range(self.settings.browse_pool):
            payment = self.create_payment(name="POST /v1/payments [setup]")
            if payment is not None:
                self.pool.append(payment)

    @task(10)
    def read(self) -> None:
        if self.pool:
            payment = self.rng.choice(self.pool)
            self.read_payment(payment["id"], order_id=payment["order_id"])

    @task(2)
    def by_order(self) -> None:
        if self.pool:
            payment = self.rng.choice(self.pool)
            self.list_by_order(payment["order_id"], payment["id"])
