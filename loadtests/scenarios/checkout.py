"""Checkout: create-and-confirm a payment, wait for its outcome, read it back."""

from __future__ import annotations

from locust import task

from loadtests.scenarios.common import PaymentsUser


class CheckoutUser(PaymentsUser):
    """A shopper paying: ``POST /v1/payments {"confirm": true}`` then reads."""

    @task
    def pay(self) -> None:
        self.checkout()
