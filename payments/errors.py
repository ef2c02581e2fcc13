"""paybench's error hierarchy: its root, the configuration errors, and the payment domain's.

Every error paybench raises on purpose is a ``PaybenchError``, and every invalid setting,
option, file or specification is a ``ConfigError`` (with the ``source`` of the value when
known), whichever package reads it; each package's ``errors.py`` draws its own part::

    PaybenchError
    +-- ConfigError                           (source, message); a command exits 2
    |   +-- payments.config.ConfigError       a service's PAYBENCH_* variable (a ValueError)
    |   +-- loadtests.errors.ConfigError      a run setting: flag, PAYBENCH_*, paybench.toml
    |   +-- gateway_sim.errors.ConfigError    a simulator profile or override (admin API: 400)
    |   +-- shadow.errors.ShadowConfigError   shadow rules, keys or arguments
    |   +-- reports.errors.GateSpecError      a gate or SLO specification (a ValueError)
    +-- PaymentError                          the payment domain's, below
    +-- loadtests.errors.LoadtestError, stack.errors.StackError, reports.errors.ReportError,
        shadow.errors.ShadowError, gateway_sim.errors.SimError, contract.openapi.ContractError

The root lives here because ``payments`` is the bottom layer: every other package may
import it, ``reports`` included (which imports nothing else of ours), and this module
imports nothing, so no import cycle can go through it.

Errors of the payment domain, each with an HTTP status and a machine code::

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


class PaybenchError(Exception):
    """Base of every error paybench raises on purpose."""


class ConfigError(PaybenchError):
    """A setting, option, file or specification is missing, unknown or invalid.

    ``source`` names where the value came from (``PAYBENCH_WORKERS``, a file, ``command
    line``); the message starts with it.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class PaymentError(PaybenchError):
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
