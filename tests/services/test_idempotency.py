"""Idempotency keys whose first request died in flight (a killed worker)."""

from __future__ import annotations

from payments.idempotency import LOCK_TIMEOUT_S, fingerprint
from tests.services.helpers import Target, new_order, payment_body


def _abandon(target: Target, key: str, body: dict[str, object], age_s: float) -> None:
    """Leave the key as a request killed mid-flight ``age_s`` seconds ago would."""
    digest = fingerprint("POST", "/v1/payments", body)
    target.sql(
        "INSERT INTO idempotency_keys (merchant_id, key, request_fingerprint, state, locked_at)"
        " VALUES (%s, %s, %s, 'in_flight', now() - make_interval(secs => %s))"
        " RETURNING key",
        target.merchants[0].id, key, digest, age_s,
    )


def test_recent_in_flight_key_is_409(target: Target) -> None:
    """A key whose first request may still be running answers 409 and creates nothing."""
    key, body = new_order(), payment_body(confirm=True)
    _abandon(target, key, body, age_s=1)
    with target.client() as client:
        resp = client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
    assert resp.status_code == 409
    assert resp.json()["code"] == "idempotency_in_flight"
    assert target.sql("SELECT count(*) FROM payments WHERE order_id = %s", body["order_id"]) == [
        (0,)]


def test_abandoned_key_is_taken_over_after_the_lock_timeout(target: Target) -> None:
    """After the lock timeout a retry with the same parameters runs once and is then replayed."""
    key, body = new_order(), payment_body(confirm=True)
    _abandon(target, key, body, age_s=LOCK_TIMEOUT_S + 5)
    with target.client() as client:
        first = client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
        again = client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded"
    assert again.content == first.content
    assert target.sql("SELECT count(*) FROM payments WHERE order_id = %s", body["order_id"]) == [
        (1,)]


def test_abandoned_key_with_other_parameters_stays_refused(target: Target) -> None:
    """An old in-flight key is not taken over by a request with different parameters."""
    key, body = new_order(), payment_body(confirm=True)
    _abandon(target, key, body, age_s=LOCK_TIMEOUT_S + 5)
    with target.client() as client:
        resp = client.post("/v1/payments", json={**body, "amount": 777},
                           headers={"Idempotency-Key": key})
    assert resp.status_code == 422
    assert resp.json()["code"] == "idempotency_key_reused"
