"""Idempotency keys with Stripe's rules, PostgreSQL as the source of truth.

- same key, same parameters: the first response is replayed byte for byte,
  errors included;
- same key, other parameters (or another endpoint): ``idempotency_key_reused``;
- same key while the first request is still running: 409, safe to retry later;
- keys expire after 24 h; a request that died in flight (worker killed) frees
  its key after ``lock_timeout_s`` for a retry with the same parameters;
- nothing is saved when validation fails (callers validate first) or when
  the request failed for lack of a database (5xx is not a result).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from payments import sql
from payments.effects import Flow, Query, Response
from payments.errors import IdempotencyError, IdempotencyInFlight, PaymentError
from payments.models import error_body

LOCK_TIMEOUT_S = 60.0


def fingerprint(method: str, path: str, params: Any) -> str:
    """A digest of the endpoint and its *parsed* parameters (whitespace-insensitive)."""
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def error_response(exc: PaymentError) -> Response:
    return Response(exc.status, error_body(exc.message, exc.code))


def idempotent(
    merchant_id: str,
    key: str | None,
    request_fingerprint: str,
    work: Flow[Response],
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Flow[Response]:
    """Run ``work`` at most once per (merchant, key) and replay its response."""
    if key is None:
        try:
            return (yield from work)
        except PaymentError as exc:
            return error_response(exc)
    for _ in range(3):
        claimed = yield Query(
            sql.IDEMPOTENCY_CLAIM, (merchant_id, key, request_fingerprint, lock_timeout_s)
        )
        if claimed is not None:
            break
        existing = yield Query(sql.IDEMPOTENCY_GET, (merchant_id, key))
        if existing is None:
            continue  # released between our two statements: claim again
        if existing["request_fingerprint"] != request_fingerprint:
            work.close()
            raise IdempotencyError(
                "this Idempotency-Key was used with different parameters"
            )
        if existing["state"] == "in_flight":
            work.close()
            raise IdempotencyInFlight(
                "a request with this Idempotency-Key is still in progress; retry later"
            )
        work.close()
        return Response(
            existing["response_status"],
            bytes(existing["response_body"]),
            {"Idempotent-Replayed": "true"},
        )
    else:
        work.close()
        raise IdempotencyInFlight("could not claim the Idempotency-Key; retry later")

    try:
        response = yield from work
    except PaymentError as exc:
        if exc.status >= 500:
            yield Query(sql.IDEMPOTENCY_RELEASE, (merchant_id, key), fetch="none")
            raise
        response = error_response(exc)
    except Exception:
        # The outcome is unknown to the client; free the key so it can retry.
        # If the database itself is gone this fails too and the lock timeout
        # frees the key instead.
        yield Query(sql.IDEMPOTENCY_RELEASE, (merchant_id, key), fetch="none")
        raise
    yield Query(
        sql.IDEMPOTENCY_FINISH, (merchant_id, key, response.status, response.body), fetch="none"
    )
    return response
