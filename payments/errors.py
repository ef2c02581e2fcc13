"""Errors of the payment domain, each with an HTTP status and a machine code.

    PaymentError                      (status, code, message)
    +-- ValidationError               400 invalid_request / invalid_json / ...
    +-- Unauthorized                  401 unauthorized
    +-- NotFound                      404 not_found
    +-- Conflict                      409 duplicate_order_id / invalid_state / ...
    +-- IdempotencyError              422 idempotency_key_reused
    +-- IdempotencyInFlight           409 idempotency_in_flight
    +-- RefundExceedsAmount           422 refund_exceeds_amount
    +-- ServiceUnavailable            503 database_unavailable

Both services map a ``PaymentError`` to ``{"error": message, "code": code}``
with its status in one place (their error middleware), so bodies are equal.
"""

from __future__ import annotations


class PaymentError(Exception):
    status: int = 400
    code: str = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class ValidationError(PaymentError):
    status = 400
    code = "invalid_request"


class Unauthorized(PaymentError):
    status = 401
    code = "unauthorized"


class NotFound(PaymentError):
    status = 404
    code = "not_found"


class Conflict(PaymentError):
    status = 409
    code = "conflict"


class IdempotencyError(PaymentError):
    status = 422
    code = "idempotency_key_reused"


class IdempotencyInFlight(PaymentError):
    status = 409
    code = "idempotency_in_flight"


class RefundExceedsAmount(PaymentError):
    status = 422
    code = "refund_exceeds_amount"


class ServiceUnavailable(PaymentError):
    status = 503
    code = "service_unavailable"
