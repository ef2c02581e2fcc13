"""Concurrent requests: one payment and one charge per Idempotency-Key, refunds within bounds."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from payments.gateways.wire import basic_auth
from stack.services import Stack
from tests.services.gateway_tools import (
    charges_per_order,
    duplicate_charges,
    refunded_at_gateway,
)
from tests.services.helpers import Target, new_order, payment_body, wait_for_status

SAME_KEY_REQUESTS = 100
REFUNDS = 50


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def async_client(target: Target, merchant: int = 0) -> aiohttp.ClientSession:
    """An aiohttp session (httpx's async pool is too slow for 100 concurrent requests)."""
    key = target.merchants[merchant].api_key
    return aiohttp.ClientSession(
        base_url=target.url,
        headers={"Authorization": basic_auth(key, "")},
        connector=aiohttp.TCPConnector(limit=SAME_KEY_REQUESTS),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def post(
    client: aiohttp.ClientSession, path: str, body: dict[str, Any], key: str | None = None
) -> Answer:
    headers = {"Idempotency-Key": key} if key is not None else {}
    async with client.post(path, json=body, headers=headers) as resp:
        return Answer(resp.status, await resp.read())


async def _until_replayed(
    client: aiohttp.ClientSession, body: dict[str, Any], key: str
) -> list[Answer]:
    """Send once; retry 409 idempotency_in_flight (safe by contract) until it stops."""
    seen = []
    for _ in range(600):
        resp = await post(client, "/v1/payments", body, key)
        seen.append(resp)
        if resp.status != 409:
            return seen
        assert resp.json()["code"] == "idempotency_in_flight", resp.body
        await asyncio.sleep(0.05)
    raise AssertionError("still in flight after 30 s")


async def test_same_key_create_and_confirm_charges_once(target: Target, stack: Stack) -> None:
    """100 concurrent identical create-and-confirm requests: one row, one charge, same bytes."""
    key = new_order()
    body = payment_body(confirm=True)
    async with async_client(target) as client:
        runs = await asyncio.gather(
            *(_until_replayed(client, body, key) for _ in range(SAME_KEY_REQUESTS))
        )
    finals = [run[-1] for run in runs]
    assert {r.status for r in finals} == {201}
    assert len({r.body for r in finals}) == 1, "every 2xx answer must be the same bytes"
    created = finals[0].json()
    assert created["status"] == "succeeded"
    rows = target.sql("SELECT id, attempt_id FROM payments WHERE order_id = %s", body["order_id"])
    assert len(rows) == 1
    assert rows[0][0] == created["id"]
    assert target.sql("SELECT count(*) FROM payment_attempts WHERE payment_id = %s",
                      created["id"])[0][0] == 1  # fmt: skip
    assert charges_per_order(stack.gateway_url, [created["attempt_id"]]) == {
        created["attempt_id"]: 1
    }
    assert not duplicate_charges(stack.gateway_url, [created["id"]])


async def _refund(client: aiohttp.ClientSession, pid: str, amount: int) -> Answer:
    return await post(client, f"/v1/payments/{pid}/refunds", {"amount": amount})


async def test_concurrent_refunds_never_exceed_captured(target: Target, stack: Stack) -> None:
    """50 concurrent refunds worth 1.5x the payment: successes stay within it, the rest 422."""
    amount, each = 10_000, 300
    async with async_client(target) as client:
        created = await post(client, "/v1/payments", payment_body(amount=amount, confirm=True))
        payment = created.json()
        assert payment["status"] == "succeeded", created.body
        answers = await asyncio.gather(
            *(_refund(client, payment["id"], each) for _ in range(REFUNDS))
        )
    ok = [r for r in answers if r.status == 201]
    refused = [r for r in answers if r.status != 201]
    assert {r.status for r in refused} == {422}
    assert {r.json()["code"] for r in refused} == {"refund_exceeds_amount"}
    assert len(ok) * each <= amount
    assert len(ok) == amount // each  # the bound is reached exactly, not undershot
    with target.client() as sync_client:
        for r in ok:
            refund = wait_for_status(sync_client, f"/v1/refunds/{r.json()['id']}", {"succeeded"})
            assert refund["status"] == "succeeded"
        final = sync_client.get(f"/v1/payments/{payment['id']}").json()
    refunded_db, reserved_db = target.sql(
        "SELECT amount_refunded, amount_refund_reserved FROM payments WHERE id = %s",
        payment["id"],
    )[0]
    assert refunded_db == reserved_db == len(ok) * each <= amount
    assert final["amount_refunded"] == refunded_db
    settled_sum = target.sql(
        "SELECT coalesce(sum(amount), 0) FROM refunds WHERE payment_id = %s AND status = %s",
        payment["id"], "succeeded",
    )[0][0]  # fmt: skip
    assert settled_sum == refunded_db
    assert refunded_at_gateway(stack.gateway_url, payment["attempt_id"]) == refunded_db


def test_refund_read_by_id_is_merchant_isolated(target: Target) -> None:
    """Another merchant reading a refund by its id gets 404; the owner reads it."""
    with target.client(0) as owner, target.client(1) as other:
        pid = owner.post("/v1/payments", json=payment_body(confirm=True)).json()["id"]
        refund = owner.post(f"/v1/payments/{pid}/refunds", json={"amount": 500})
        assert refund.status_code == 201, refund.text
        rid = refund.json()["id"]
        hidden = other.get(f"/v1/refunds/{rid}")
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not_found"
        assert owner.get(f"/v1/refunds/{rid}").json()["id"] == rid
