"""The same state gives the same bytes on every service.

Rows with the same ids, amounts, timestamps and metadata are written into
each service's schema, then read through each service's API: the bodies
must be byte-for-byte equal. The framework-level answers (unknown route,
wrong method) must be equal too, headers that carry meaning included.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.services.helpers import Target

CREATED = "2026-01-02 03:04:05.123456+00"
UPDATED = "2026-01-02 03:04:06.5+00"
# jsonb orders keys its own way; every service must show that order
METADATA = '{"zeta": "1", "a": "x\\u00e9\\"q", "mid": ""}'


def _seed(target: Target, tag: str) -> tuple[str, str]:
    """A succeeded payment with a partial refund, identical in every schema."""
    pid, rid = f"pay_same{tag}", f"re_same{tag}"
    merchant = target.merchants[0].id
    target.sql(
        "INSERT INTO payments (id, merchant_id, order_id, amount, currency, gateway,"
        " payment_method, status, attempt_id, gateway_txn_id, amount_refunded,"
        " amount_refund_reserved, description, customer_id, metadata, version, created_at,"
        " updated_at) VALUES (%s, %s, %s, 123456, 'INR', 'paytm', 'upi', 'partially_refunded',"
        " %s, 'txn_1', 1000, 1500, 'caf\u00e9 \"order\"', NULL, %s::jsonb, 4, %s, %s)"
        " RETURNING id",
        pid, merchant, f"ord_same{tag}", f"att{tag}", METADATA, CREATED, UPDATED,
    )  # fmt: skip
    target.sql(
        "INSERT INTO refunds (id, payment_id, merchant_id, amount, currency, status, reason,"
        " gateway_refund_id, failure_code, failure_message, created_at, updated_at)"
        " VALUES (%s, %s, %s, 500, 'INR', 'pending', NULL, 'grf_1', NULL, NULL, %s, %s)"
        " RETURNING id",
        rid, pid, merchant, CREATED, UPDATED,
    )  # fmt: skip
    return pid, rid


def _answers(target: Target, pid: str, rid: str, order_id: str) -> list[tuple[Any, ...]]:
    with target.client() as client:
        reads = [
            client.get(f"/v1/payments/{pid}"),
            client.get(f"/v1/payments/{pid}"),  # now from the cache
            client.get("/v1/payments", params={"order_id": order_id}),
            client.get(f"/v1/refunds/{rid}"),
            client.post(f"/v1/payments/{pid}/confirm"),
            client.post(f"/v1/payments/{pid}/refunds", json={"amount": 999999}),
            client.get("/v1/payments/pay_missing0000000000000000"),
            client.post("/v1/payments", content=b"{", headers={"Content-Type": "application/json"}),
            client.get("/no/such/route"),
            client.delete("/v1/payments"),  # (aiohttp also allows HEAD where GET is: not /ping)
            client.get("/ping"),
        ]
    with target.anonymous() as anon:
        reads.append(anon.get(f"/v1/payments/{pid}"))
    return [_answer(r) for r in reads]


def _answer(resp: httpx.Response) -> tuple[Any, ...]:
    return (resp.request.method, resp.request.url.path, resp.status_code,
            resp.headers.get("content-type"), resp.headers.get("allow"), resp.content)  # fmt: skip


def test_same_state_reads_as_the_same_bytes(every: dict[str, Target]) -> None:
    """Identical rows give identical statuses, content types and bodies on every service."""
    tag = secrets.token_hex(4)
    seen = {}
    for name, target in every.items():
        pid, rid = _seed(target, tag)
        seen[name] = _answers(target, pid, rid, f"ord_same{tag}")
    for name in every:
        assert seen[name] == seen["legacy"], name
    first = seen["legacy"][0]
    assert first[2] == 200
    assert b'"metadata":{"a":"x\xc3\xa9\\"q","mid":"","zeta":"1"}' in first[5]
    assert b'"created_at":"2026-01-02T03:04:05.123456Z"' in first[5]


def test_oversized_body_is_413_in_vyked_words(every: dict[str, Target]) -> None:
    """A body over 1 MiB gets 413 "413: Request Entity Too Large" from the legacy service and
    from Sanic, as Vyked answered (aiohttp, under the engine, words it its own way)."""
    body = b"x" * (1024**2 + 1)
    answers = {}
    for name in ("legacy", "sanic"):
        with every[name].client() as client:
            resp = client.post("/v1/payments", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
        answers[name] = (resp.status_code, resp.headers.get("content-type"), resp.content)
    assert answers["sanic"] == answers["legacy"]
    assert answers["sanic"][0] == 413
    with every["engine"].client() as client:
        assert client.post("/v1/payments", content=body).status_code == 413
