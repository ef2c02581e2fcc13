"""The base user of every payment scenario: merchant auth, request helpers and checks.

Each helper sends one request under a stable ``name=`` group and fails it (``failure``)
when the status or the body breaks the contract, so a 200 with a wrong body is an error.
"""

from __future__ import annotations

import base64
import itertools
import logging
import random
import uuid
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, events
from locust.exception import StopUser

from loadtests.config import RunConfig
from loadtests.scenarios import checks
from loadtests.scenarios.settings import from_env

SETTINGS = from_env()

# Amounts in minor units that end in 00: the gateway simulator forces outcomes (declines,
# pending, timeouts) by other amount suffixes, which a throughput scenario must not hit.
AMOUNTS = (1000, 2500, 4900, 10000, 19900, 50000)
GATEWAYS = ("juspay", "paytm")
METHODS = ("card", "upi", "netbanking", "wallet")

_user_numbers = itertools.count()
_log = logging.getLogger(__name__)
# Exit code of a locust run refused for its settings (2: bad usage, as argparse does).
EXIT_SETTINGS = 2


def new_id(prefix: str) -> str:
    """A unique id made of [A-Za-z0-9_] (33-37 chars), valid as order id or idempotency key."""
    return f"{prefix}_{uuid.uuid4().hex}"


class PaymentsUser(FastHttpUser):
    """A merchant's API client; scenario users subclass it and add ``@task``s."""

    abstract = True
    settings: ClassVar[RunConfig] = SETTINGS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number = next(_user_numbers)
        self.rng = random.Random(self.settings.seed * 1_000_003 + self.number)
        self.headers: dict[str, str] = {}
        self.recent: list[str] = []

    def wait_time(self) -> float:
        return self.settings.think_time_s

    def on_start(self) -> None:
        keys = self.settings.api_keys
        if not keys:
            raise StopUser("PAYBENCH_API_KEYS is empty")
        key = keys[self.number % len(keys)]
        token = base64.b64encode(f"{key}:".encode()).decode("ascii")
        self.headers = {"Authorization": f"Basic {token}"}

    # -- one request each ---------------------------------------------------------------

    def create_payment(
        self,
        *,
        amount: int | None = None,
        confirm: bool = True,
        idempotency_key: str | None = None,
        name: str = "POST /v1/payments",
    ) -> dict[str, Any] | None:
        """Create (and by default confirm) a payment; the checked body, or None on failure."""
        order_id = new_id("ord")
        body = {
            "order_id": order_id,
            "amount": amount if amount is not None else self.rng.choice(AMOUNTS),
            "currency": "INR",
            "gateway": self.rng.choice(GATEWAYS),
            "payment_method": self.rng.choice(METHODS),
            "confirm": confirm,
        }
        headers = {**self.headers, "Idempotency-Key": idempotency_key or new_id("idem")}
        with self.client.post(
            "/v1/payments", json=body, headers=headers, name=name, catch_response=True
        ) as resp:
            payment, reason = checks.parse_json(resp.content)
            reason = (
                checks.check_status(resp.status_code, 201)
                or reason
                or checks.check_payment(
                    payment, order_id=order_id, amount=body["amount"], currency="INR"
                )
            )
            if reason:
                resp.failure(reason)
                return None
        self._remember(payment["id"])
        result: dict[str, Any] = payment
        return result

    def read_payment(
        self, payment_id: str, *, name: str = "GET /v1/payments/{id}", **expected: Any
    ) -> dict[str, Any] | None:
        """Read one payment (through the service's cache) and check it."""
        with self.client.get(
            f"/v1/payments/{payment_id}", headers=self.headers, name=name, catch_response=True
        ) as resp:
            payment, reason = checks.parse_json(resp.content)
            reason = (
                checks.check_status(resp.status_code, 200)
                or reason
                or checks.check_payment(payment, id=payment_id, **expected)
            )
            if reason:
                resp.failure(reason)
                return None
        result: dict[str, Any] = payment
        return result

    def list_by_order(self, order_id: str, payment_id: str) -> None:
        """``GET /v1/payments?order_id=`` must list the payment made for that order."""
        with self.client.get(
            f"/v1/payments?order_id={order_id}",
            headers=self.headers,
            name="GET /v1/payments?order_id=",
            catch_response=True,
        ) as resp:
            body, reason = checks.parse_json(resp.content)
            reason = checks.check_status(resp.status_code, 200) or reason
            if not reason:
                items = checks.payments_in_list(body)
                if items is None:
                    reason = "list body has no data array"
                elif not any(item.get("id") == payment_id for item in items):
                    reason = f"{payment_id} missing from its order's list"
            if reason:
                resp.failure(reason)

    def refund(self, payment_id: str, amount: int) -> dict[str, Any] | None:
        """Refund part of a payment; the checked refund, or None on failure."""
        headers = {**self.headers, "Idempotency-Key": new_id("idem")}
        with self.client.post(
            f"/v1/payments/{payment_id}/refunds",
            json={"amount": amount, "reason": "load test"},
            headers=headers,
            name="POST /v1/payments/{id}/refunds",
            catch_response=True,
        ) as resp:
            refund, reason = checks.parse_json(resp.content)
            reason = (
                checks.check_status(resp.status_code, (200, 201))
                or reason
                or checks.check_refund(refund, payment_id=payment_id, amount=amount)
            )
            if reason:
                resp.failure(reason)
                return None
        result: dict[str, Any] = refund
        return result

    # -- flows ------------------------------------------------------------------------------

    def await_final(self, payment: dict[str, Any]) -> dict[str, Any] | None:
        """Poll a ``processing`` payment until the gateway outcome lands (bounded)."""
        current: dict[str, Any] | None = payment
        polls = 0
        while current is not None and current["status"] not in checks.FINAL_STATUSES:
            if polls >= self.settings.poll_max:
                # Still pending at the gateway: not a contract error, the webhook may come later.
                return current
            gevent.sleep(self.settings.poll_interval_s)
            polls += 1
            current = self.read_payment(
                payment["id"], name="GET /v1/payments/{id} [poll]", order_id=payment["order_id"]
            )
        return current

    def checkout(self, *, amount: int | None = None) -> dict[str, Any] | None:
        """Create-and-confirm, wait for the outcome, then read the payment back."""
        payment = self.create_payment(amount=amount)
        if payment is None:
            return None
        final = self.await_final(payment)
        if final is None:
            return None
        expected: dict[str, Any] = {"order_id": final["order_id"], "amount": final["amount"]}
        if final["status"] in checks.FINAL_STATUSES:
            expected["status"] = final["status"]
        return self.read_payment(final["id"], **expected)

    def _remember(self, payment_id: str) -> None:
        self.recent.append(payment_id)
        if len(self.recent) > 50:
            del self.recent[:25]


def _refuse_without_api_keys(environment: Any, **_kw: Any) -> None:
    """A run of payment users without merchant keys stops at start, in one line, exit 2.

    Each user would otherwise stop itself with a traceback, send nothing, and
    Locust would exit 0 as if the test had passed.
    """
    users = [c for c in environment.user_classes if issubclass(c, PaymentsUser)]
    if not users or all(c.settings.api_keys for c in users):
        return
    _log.error("PAYBENCH_API_KEYS is not set: the %s scenario needs merchant API keys "
               "(PAYBENCH_API_KEYS=key1,key2; `paybench up` prints them)",
               ", ".join(sorted(c.__name__ for c in users)))
    environment.process_exit_code = EXIT_SETTINGS
    if environment.runner is not None:
        environment.runner.quit()  # a worker tells its master, a master its workers
    # Nothing is running yet, so nothing is lost by leaving now; carrying on would
    # leave a web UI, or a master waiting for workers that quit too, with no end.
    raise SystemExit(EXIT_SETTINGS)


_events: Any = events  # locust's EventHook is untyped
_events.init.add_listener(_refuse_without_api_keys)
