"""The services answer the contract the same way (real PostgreSQL, Redis, simulator)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.services.helpers import Target, new_order, payment_body, wait_for_status

MASKED = {"id", "order_id", "attempt_id", "gateway_txn_id", "created_at", "updated_at"}


def shape(body: dict[str, Any]) -> dict[str, Any]:
    """The body with generated values masked, for comparing two services."""
    return {k: ("<masked>" if k in MASKED and v is not None else v) for k, v in body.items()}


def test_create_and_confirm_succeeds(target: Target) -> None:
    """POST /v1/payments with confirm charges at the gateway and answers 201 succeeded."""
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(confirm=True))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "succeeded"
    assert body["object"] == "payment"
    assert body["id"].startswith("pay_")
    assert body["gateway_txn_id"]
    assert resp.headers["content-type"].startswith("application/json")


def test_every_service_gives_identical_shapes(every: dict[str, Target]) -> None:
    """The same requests give the same statuses and bodies on every service, ids masked."""
    seen: dict[str, list[tuple[int, Any]]] = {}
    for name, target in every.items():
        out: list[tuple[int, Any]] = []
        with target.client() as client:
            order = new_order()
            created = client.post("/v1/payments", json=payment_body(order_id=order))
            out.append((created.status_code, shape(created.json())))
            pid = created.json()["id"]
            confirmed = client.post(f"/v1/payments/{pid}/confirm")
            out.append((confirmed.status_code, shape(confirmed.json())))
            got = client.get(f"/v1/payments/{pid}")
            out.append((got.status_code, shape(got.json())))
            listed = client.get("/v1/payments", params={"order_id": order})
            out.append((listed.status_code, [shape(p) for p in listed.json()["data"]]))
            refund = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 2500})
            out.append((refund.status_code, sorted(refund.json())))
            again = client.post(f"/v1/payments/{pid}/confirm")
            out.append((again.status_code, again.json()))
            missing = client.get("/v1/payments/pay_000000000000000000000000")
            out.append((missing.status_code, missing.json()))
        seen[name] = out
    for name in every:
        assert seen[name] == seen["legacy"], name
    statuses = [status for status, _ in seen["engine"]]
    assert statuses == [201, 200, 200, 200, 201, 409, 404]


def test_read_through_cache_and_invalidation(target: Target) -> None:
    """A read fills the cache; a later write replaces the cached body with the new state."""
    with target.client() as client:
        pid = client.post("/v1/payments", json=payment_body(confirm=True)).json()["id"]
        merchant_id = target.merchants[0].id
        first = client.get(f"/v1/payments/{pid}")
        cached = target.cached(merchant_id, pid)
        assert cached is not None
        assert cached.split(b"|", 1)[1] == first.content
        refund = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 10000}).json()
        assert wait_for_status(client, f"/v1/refunds/{refund['id']}", {"succeeded"})[
            "status"] == "succeeded"
        cached_after = target.cached(merchant_id, pid)
        assert cached_after is not None
        assert json.loads(cached_after.split(b"|", 1)[1])["status"] == "refunded"
        assert client.get(f"/v1/payments/{pid}").json()["status"] == "refunded"


def test_merchant_isolation(target: Target) -> None:
    """A merchant never sees or changes another merchant's payment: 404, not 403."""
    with target.client(0) as owner, target.client(1) as other:
        pid = owner.post("/v1/payments", json=payment_body(confirm=True)).json()["id"]
        assert other.get(f"/v1/payments/{pid}").status_code == 404
        assert other.post(f"/v1/payments/{pid}/refunds", json={"amount": 1}).status_code == 404
        assert other.post(f"/v1/payments/{pid}/confirm").status_code == 404
        assert owner.get(f"/v1/payments/{pid}").json()["amount_refunded"] == 0


def test_duplicate_order_id(target: Target) -> None:
    """A second payment for the same order id is refused with 409 duplicate_order_id."""
    body = payment_body()
    with target.client() as client:
        assert client.post("/v1/payments", json=body).status_code == 201
        resp = client.post("/v1/payments", json=body)
    assert resp.status_code == 409
    assert resp.json()["code"] == "duplicate_order_id"


def test_idempotent_replay_is_byte_for_byte(target: Target) -> None:
    """The same key and body replay the first response exactly; other params are refused."""
    key = new_order()
    body = payment_body(confirm=True)
    with target.client() as client:
        first = client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
        second = client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
        other = client.post("/v1/payments", json={**body, "amount": 999},
                            headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert target.sql("SELECT count(*) FROM payments WHERE order_id = %s",
                      body["order_id"])[0][0] == 1


def test_vyked_conventions(target: Target) -> None:
    """/ping answers 200 empty, unknown routes 404 plain text, request ids are echoed."""
    with target.anonymous() as anon:
        ping = anon.get("/ping", params={"service": "payment", "version": "1"})
        assert ping.status_code == 200
        assert ping.content == b""
        unknown = anon.get("/no/such/route")
        assert unknown.status_code == 404
        assert unknown.text == "404: Not Found"
        echoed = anon.get("/ping", headers={"X-REQUEST-ID": "req-123"})
        assert echoed.headers["X-REQUEST-ID"] == "req-123"
        assert len(anon.get("/ping").headers["X-REQUEST-ID"]) >= 16
        stats = anon.get("/_stats").json()
        assert {"count", "average", "success_count", "sub"} <= set(stats)
        assert anon.get("/__onemg-internal__/ping").status_code == 200


def test_health_and_metrics(target: Target) -> None:
    """/health reports db and redis ok; /metrics is Prometheus text with request counts."""
    with target.anonymous() as anon:
        health = anon.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "db": "ok", "redis": "ok"}
        anon.get("/v1/payments", params={"order_id": "none"})  # 401, counted all the same
        metrics = anon.get("/metrics")
    assert metrics.status_code == 200
    assert "paybench_http_requests_total" in metrics.text
    assert "paybench_db_pool_in_use" in metrics.text


@pytest.mark.parametrize("gateway", ["juspay", "paytm"])
def test_both_gateways_charge(target: Target, gateway: str) -> None:
    """Create-and-confirm succeeds through each gateway protocol."""
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(gateway=gateway, confirm=True))
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "succeeded"


def test_refund_bounds(target: Target) -> None:
    """Refunds never exceed the captured amount and unpaid payments cannot be refunded."""
    with target.client() as client:
        pid = client.post("/v1/payments", json=payment_body(confirm=True)).json()["id"]
        assert client.post(f"/v1/payments/{pid}/refunds", json={"amount": 6000}).status_code == 201
        over = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 4001})
        assert over.status_code == 422
        assert over.json()["code"] == "refund_exceeds_amount"
        rest = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 4000})
        assert rest.status_code == 201
        refund_id = rest.json()["id"]
        settled = wait_for_status(client, f"/v1/refunds/{refund_id}", {"succeeded"})
        assert settled["status"] == "succeeded"
        assert wait_for_status(client, f"/v1/payments/{pid}", {"refunded"})["status"] == "refunded"
        unpaid = client.post("/v1/payments", json=payment_body()).json()["id"]
        early = client.post(f"/v1/payments/{unpaid}/refunds", json={"amount": 1})
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_state"




def _list_count(metrics_text: str) -> float:
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("paybench_http_requests_total{") and 'route="list_payments"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_cover_every_worker(target: Target) -> None:
    """/metrics sums request counts over all workers, whichever worker answers the scrape."""
    with target.client() as client:
        before = _list_count(client.get("/metrics").text)
        for _ in range(12):
            assert client.get("/v1/payments", params={"order_id": "none"}).status_code == 200
        # scrapes on new connections land on either worker; all see every request
        seen = {_list_count(httpx.get(f"{target.url}/metrics", timeout=10).text)
                for _ in range(6)}
    assert seen == {before + 12}
