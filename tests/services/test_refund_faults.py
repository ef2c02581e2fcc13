"""Refunds the gateway fails or loses: the reserved amount is never lost nor refunded twice."""

from __future__ import annotations

import httpx

from tests.services.helpers import Target, payment_body, wait_for_status


def _captured(client: httpx.Client) -> str:
    """A succeeded payment of 200.00 INR."""
    resp = client.post("/v1/payments", json=payment_body(amount=20000, confirm=True))
    assert resp.json()["status"] == "succeeded", resp.text
    pid: str = resp.json()["id"]
    return pid


def test_refund_failed_by_the_gateway_frees_its_amount(target: Target) -> None:
    """A refund the gateway accepts and then fails (hook 91) frees its reservation."""
    with target.client() as client:
        pid = _captured(client)
        refund = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 19991}).json()
        final = wait_for_status(client, f"/v1/refunds/{refund['id']}", {"failed", "succeeded"})
        assert final["status"] == "failed"
        payment = client.get(f"/v1/payments/{pid}").json()
        assert payment["status"] == "succeeded"
        assert payment["amount_refunded"] == 0
        full = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 20000})
        assert full.status_code == 201, full.text
        done = wait_for_status(client, f"/v1/refunds/{full.json()['id']}", {"succeeded"})
        assert done["status"] == "succeeded"
        assert wait_for_status(client, f"/v1/payments/{pid}", {"refunded"})["status"] == "refunded"


def test_refund_lost_to_a_gateway_error_is_settled_by_sync(target: Target) -> None:
    """A refund answered 5xx before acceptance (hook 94) stays held, then sync settles it."""
    with target.client() as client:
        pid = _captured(client)
        refund = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 5094})
        assert refund.status_code == 201, refund.text
        assert refund.json()["status"] in ("unknown", "pending")
        # while unsettled, the amount stays reserved: the rest is all that can be refunded
        over = client.post(f"/v1/payments/{pid}/refunds", json={"amount": 20000 - 5094 + 1})
        assert over.status_code == 422
        assert client.post(f"/v1/payments/{pid}/sync").status_code == 200
        settled = client.get(f"/v1/refunds/{refund.json()['id']}").json()
        payment = client.get(f"/v1/payments/{pid}").json()
    assert settled["status"] in ("failed", "succeeded")
    expected = 5094 if settled["status"] == "succeeded" else 0
    assert payment["amount_refunded"] == expected
