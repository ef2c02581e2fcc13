"""Idempotency keys against scripted effects: claim, replay, conflict, in flight, release
(Stripe's rules; the SQL decides who holds a key, the flow what that means)."""

from __future__ import annotations

from typing import Any

import pytest

from payments import sql
from payments.effects import Flow, Query, Response
from payments.errors import ServiceUnavailable
from payments.idempotency import LOCK_TIMEOUT_S, fingerprint, idempotent
from payments.models import encode_json, payment_json
from payments.testing import Script
from tests.payments.flow_data import (
    MID,
    PAY,
    answer,
    context,
    insert_args,
    payment_body,
    payment_row,
    request,
)

pytestmark = pytest.mark.pure

KEY = "idem_1"
BODY = payment_body()
DIGEST = fingerprint("POST", "/v1/payments", BODY)
CREATED = encode_json(payment_json(payment_row()))


def create(key: str | None = KEY, body: dict[str, Any] = BODY) -> Flow[Response]:
    return request(context(), "POST", "/v1/payments", body, key=key)


def claim(script: Script, claimed: bool) -> Script:
    return script.query(sql.IDEMPOTENCY_CLAIM, (MID, KEY, DIGEST, LOCK_TIMEOUT_S),
                        returns={"key": KEY} if claimed else None)  # fmt: skip


def stored(state: str = "done", digest: str = DIGEST) -> dict[str, Any]:
    """An ``IDEMPOTENCY_GET`` row (the body as bytea comes back as memoryview from psycopg)."""
    done = state == "done"
    return {"request_fingerprint": digest, "state": state,
            "response_status": 201 if done else None,
            "response_body": memoryview(CREATED) if done else None}  # fmt: skip


def test_first_request_claims_the_key_runs_once_and_stores_its_response() -> None:
    """Claim, the work, then the response stored under the key."""
    script = claim(Script(), True)
    script.query(sql.INSERT_PAYMENT, insert_args(), returns=payment_row()).cache_put()
    script.query(sql.IDEMPOTENCY_FINISH, (MID, KEY, 201, CREATED), fetch="none")
    response = script.run(create())
    assert (response.status, response.body) == (201, CREATED)


def test_same_key_and_parameters_replay_the_stored_response_byte_for_byte() -> None:
    """A refused claim with the same fingerprint and a finished request: the stored bytes,
    marked replayed, and none of the work."""
    script = claim(Script(), False).query(sql.IDEMPOTENCY_GET, (MID, KEY), returns=stored())
    response = script.run(create())
    assert (response.status, response.body) == (201, CREATED)
    assert response.headers == {"Idempotent-Replayed": "true"}


def test_same_key_with_other_parameters_is_422() -> None:
    """Another request's fingerprint under the key: 422 idempotency_key_reused, no work."""
    script = claim(Script(), False).query(sql.IDEMPOTENCY_GET,
                                          returns=stored(digest="0" * 64))  # fmt: skip
    response = script.run(create())
    assert response.status == 422
    assert answer(response)["code"] == "idempotency_key_reused"


def test_same_key_still_in_flight_is_409() -> None:
    """The first request still runs (its lock is recent, so the claim was refused): 409."""
    script = claim(Script(), False).query(sql.IDEMPOTENCY_GET, returns=stored("in_flight"))
    response = script.run(create())
    assert response.status == 409
    assert answer(response)["code"] == "idempotency_in_flight"


def test_key_released_between_claim_and_read_is_claimed_again() -> None:
    """A key gone between the refused claim and the read is claimed again, then used."""
    script = claim(Script(), False).query(sql.IDEMPOTENCY_GET, returns=None)
    claim(script, True).query(sql.INSERT_PAYMENT, returns=payment_row()).cache_put()
    script.query(sql.IDEMPOTENCY_FINISH, fetch="none")
    assert script.run(create()).status == 201


def test_a_key_that_cannot_be_claimed_in_three_tries_is_409() -> None:
    """Three refused claims, the key vanishing each time: 409, retry later, nothing run."""
    script = Script()
    for _ in range(3):
        claim(script, False).query(sql.IDEMPOTENCY_GET, returns=None)
    assert answer(script.run(create()))["code"] == "idempotency_in_flight"


def test_domain_error_is_stored_and_replayed_like_a_success() -> None:
    """A 4xx from the work (the order id is taken) is a result: stored under the key."""
    script = claim(Script(), True).query(sql.INSERT_PAYMENT, returns=None)
    script.query(sql.IDEMPOTENCY_FINISH, fetch="none")
    response = script.run(create())
    assert response.status == 409
    finish = script.yielded(Query)[-1]
    assert finish.args[2:] == (409, response.body)


def test_database_failure_mid_request_releases_the_key_and_propagates() -> None:
    """A port failure inside the work is thrown into the flow, which frees the key for a
    retry (the outcome is unknown to the client) and lets the failure through."""
    script = claim(Script(), True).query(sql.INSERT_PAYMENT, raises=ConnectionError("db gone"))
    script.query(sql.IDEMPOTENCY_RELEASE, (MID, KEY), fetch="none")
    with pytest.raises(ConnectionError, match="db gone"):
        script.run(create())


async def test_async_loop_releases_the_key_the_same_way() -> None:
    """The engine's loop (run_async) throws a failing port into the flow exactly as run_sync."""
    script = claim(Script(), True).query(sql.INSERT_PAYMENT, raises=ConnectionError("db gone"))
    script.query(sql.IDEMPOTENCY_RELEASE, (MID, KEY), fetch="none")
    with pytest.raises(ConnectionError, match="db gone"):
        await script.run_async(create())


def test_release_failing_too_leaves_the_key_to_its_lock_timeout() -> None:
    """When the release fails as well (database gone), that failure propagates; the lock
    timeout frees the key later."""
    script = claim(Script(), True).query(sql.INSERT_PAYMENT, raises=ConnectionError("db gone"))
    script.query(sql.IDEMPOTENCY_RELEASE, raises=ConnectionError("still gone"))
    with pytest.raises(ConnectionError, match="still gone"):
        script.run(create())


def test_server_error_from_the_work_releases_the_key_instead_of_storing_it() -> None:
    """A 5xx is not a result: the key is released and the error answered, not stored."""

    def work() -> Flow[Response]:
        yield from ()
        raise ServiceUnavailable("try later")

    script = claim(Script(), True).query(sql.IDEMPOTENCY_RELEASE, (MID, KEY), fetch="none")
    with pytest.raises(ServiceUnavailable):
        script.run(idempotent(MID, KEY, DIGEST, work()))


def test_without_a_key_nothing_is_claimed_or_stored() -> None:
    """No Idempotency-Key: the work alone."""
    script = Script().query(sql.INSERT_PAYMENT, returns=payment_row()).cache_put()
    response = script.run(create(key=None))
    assert (response.status, answer(response)["id"]) == (201, PAY)
