"""A generated mixed workload with writes, in the minimal capture format.

Each payment gets a chain: create (sometimes with ``confirm``), confirm,
reads by id and by order, a retried create with the same idempotency key,
partial refunds, an over-refund, a second confirm (409). A few requests that
must fail the same way on every side are mixed in (invalid amount, unknown
payment, unknown API key). Chains are interleaved so follow-ups arrive
between other payments' requests, as in real traffic. Deterministic per seed.

Amounts end in the gateway simulator's outcome hooks (last two digits of the
minor units), so every side sees the same gateway outcome for the same
payment: 00/50 succeed, 01 is declined, 02 and 09 are pending then succeed
(09 with duplicate and stale webhooks), 03 is pending then fails, 04 is a
gateway 500, 07 a connection reset after the charge. Refund amounts end in 00.
With the ``fast`` or ``realistic`` profile the random outcomes come on top, drawn
from each request's content (amount, currency, customer); every payment has a
customer of its own, so no two payments share that content.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

GATEWAYS = ("juspay", "paytm")
OUTCOMES = ("00", "50", "00", "01", "02", "00", "03", "50", "09", "04", "00", "07")
METHODS = ("card", "upi", "netbanking", "wallet")


def _chain(i: int, rng: random.Random, key: str, tag: str) -> list[dict[str, Any]]:
    pay = f"pay_w{i}"
    order = f"shadow-{tag}-{i}"
    amount = rng.randrange(1, 1000) * 100 + int(OUTCOMES[i % len(OUTCOMES)])
    confirm_now = i % 3 == 1
    body: dict[str, Any] = {
        "order_id": order, "amount": amount, "currency": "INR",
        "gateway": GATEWAYS[i % 2], "payment_method": METHODS[i % len(METHODS)],
        "confirm": confirm_now, "customer_id": f"cust_{tag}_{i}",
        "description": f"shadow workload payment {i}", "metadata": {"n": str(i)},
    }
    create = {"method": "POST", "path": "/v1/payments", "api_key": key,
              "idempotency_key": f"{order}-create", "body": body, "as": pay}
    steps: list[dict[str, Any]] = [create]
    if not confirm_now:
        steps.append({"method": "POST", "path": f"/v1/payments/{pay}/confirm", "api_key": key,
                      "idempotency_key": f"{order}-confirm"})
    steps.append({"method": "GET", "path": f"/v1/payments/{pay}", "api_key": key})
    if i % 3 == 0:
        # Same key, same parameters: the first response again, no second charge.
        steps.append({k: v for k, v in create.items() if k != "as"})
    steps.append({"method": "GET", "path": "/v1/payments", "query": {"order_id": order},
                  "api_key": key})
    if i % 2 == 0:
        part = max(100, amount // 400 * 100)
        steps.append({"method": "POST", "path": f"/v1/payments/{pay}/refunds", "api_key": key,
                      "idempotency_key": f"{order}-refund-1",
                      "body": {"amount": part, "reason": "requested_by_customer"},
                      "as": f"re_w{i}"})
        steps.append({"method": "GET", "path": f"/v1/refunds/re_w{i}", "api_key": key})
        if i % 4 == 0:
            steps.append({"method": "POST", "path": f"/v1/payments/{pay}/refunds",
                          "api_key": key, "idempotency_key": f"{order}-refund-2",
                          "body": {"amount": amount}})
        steps.append({"method": "GET", "path": f"/v1/payments/{pay}", "api_key": key})
    if i % 5 == 2:
        steps.append({"method": "POST", "path": f"/v1/payments/{pay}/confirm", "api_key": key,
                      "idempotency_key": f"{order}-confirm-again"})
    return steps


def generate(
    payments: int, keys: Sequence[str], *, seed: int = 1, tag: str = "w"
) -> list[dict[str, Any]]:
    """The workload as minimal capture lines (dicts)."""
    if not keys:
        raise ValueError("at least one API key is needed")
    rng = random.Random(seed)
    chains = [_chain(i, rng, keys[i % len(keys)], tag) for i in range(payments)]
    lines = list(_interleave(chains, rng))
    key = keys[0]
    lines.insert(min(3, len(lines)), {
        "method": "POST", "path": "/v1/payments", "api_key": key,
        "body": {"order_id": f"shadow-{tag}-bad", "amount": 0, "currency": "INR",
                 "gateway": "juspay", "payment_method": "card"}})
    lines.insert(min(5, len(lines)), {"method": "GET", "path": "/v1/payments/pay_unknown0",
                                      "api_key": key})
    lines.append({"method": "GET", "path": "/v1/payments", "query": {"order_id": "x"},
                  "api_key": "key_not_a_merchant"})
    return lines


def _interleave(chains: list[list[dict[str, Any]]], rng: random.Random) -> Iterator[dict[str, Any]]:
    # Up to four chains are open at once; the next step comes from a random open chain.
    pending = [list(c) for c in chains]
    pending.reverse()
    active: list[list[dict[str, Any]]] = []
    while pending or active:
        while pending and len(active) < 4:
            active.append(pending.pop())
        chain = rng.choice(active)
        yield chain.pop(0)
        if not chain:
            active.remove(chain)


def write_workload(path: str | Path, lines: Sequence[dict[str, Any]]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, separators=(",", ":")) + "\n")
    return out
