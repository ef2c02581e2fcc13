"""Retry storm: concurrent retries with one Idempotency-Key must all see the same response.

Stripe's rules, which the contract follows: the first request with a key does the work;
a retry while it is in flight gets 409; every retry after it finished gets the first
response byte for byte. The storm sends ``retry_concurrency`` identical requests at once,
then one more after they all returned.
"""

from __future__ import annotations

from typing import Any

import gevent
from locust import task

from loadtests.scenarios import checks
from loadtests.scenarios.common import AMOUNTS, GATEWAYS, METHODS, PaymentsUser, new_id

NAME = "POST /v1/payments [retry]"


class RetryStormUser(PaymentsUser):
    """A client whose network drops responses, so it retries aggressively."""

    @task
    def storm(self) -> None:
        retry_storm(self)


def retry_storm(user: PaymentsUser) -> None:
    """Send one create-and-confirm several times at once with one key, then once more."""
    key = new_id("idem")
    body = {
        "order_id": new_id("ord"),
        "amount": user.rng.choice(AMOUNTS),
        "currency": "INR",
        "gateway": user.rng.choice(GATEWAYS),
        "payment_method": user.rng.choice(METHODS),
        "confirm": True,
    }
    first: list[bytes] = []
    burst = [
        gevent.spawn(_send, user, key, body, first)
        for _ in range(user.settings.retry_concurrency)
    ]
    gevent.joinall(burst)
    _send(user, key, body, first, final=True)


def _send(
    user: PaymentsUser, key: str, body: dict[str, Any], first: list[bytes], final: bool = False
) -> None:
    headers = {**user.headers, "Idempotency-Key": key}
    with user.client.post(
        "/v1/payments", json=body, headers=headers, name=NAME, catch_response=True
    ) as resp:
        content = resp.content or b""
        decoded, reason = checks.parse_json(content)
        allowed = (201,) if final else (201, 409)
        reason = checks.check_status(resp.status_code, allowed) or reason
        if reason is None and resp.status_code == 409:
            reason = checks.check_error(decoded)
        elif reason is None:
            reason = checks.check_payment(
                decoded, order_id=body["order_id"], amount=body["amount"]
            )
            if reason is None and first and content != first[0]:
                reason = "replay differs from the first response"
            elif reason is None and not first:
                first.append(content)
        if reason:
            resp.failure(reason)
        else:
            resp.success()  # a 409 is the contract's answer while the first is in flight
