"""What a failed call means, shared by both gateways.

The rules, in one place because they decide whether a customer can be charged
twice:

* a transport error that *may* have reached the gateway (read timeout, reset
  after sending) means the charge may have happened: ``UNKNOWN``;
* a connect error never reached the gateway: nothing happened, ``FAILED`` for a
  charge or refund (the caller may safely try again with a new attempt), but
  ``UNKNOWN`` for a status query (we still do not know the truth);
* any 5xx: ``UNKNOWN`` (a gateway may fail after committing);
* 429: ``UNKNOWN``. A rate-limited request was not processed, but the flows
  do not retry in place: the driver cannot sleep inside a flow, and a status
  query later (``status_flow``) settles the attempt cheaply and safely;
* 401/403 and other 4xx: the gateway refused the request, ``FAILED``.
"""

from __future__ import annotations

from payments.gateways.base import (
    AttemptStatus,
    ChargeOutcome,
    HttpResponse,
    RefundOutcome,
    RefundStatus,
    TransportError,
)


def transport_code(err: TransportError) -> str:
    return f"gateway_{err.kind}"


def charge_transport_outcome(err: TransportError, *, query: bool = False) -> ChargeOutcome:
    """Outcome of a charge (or, with ``query``, a status call) lost below HTTP."""
    status = AttemptStatus.UNKNOWN if err.ambiguous or query else AttemptStatus.FAILED
    return ChargeOutcome(
        status=status, error_code=transport_code(err), error_message=err.detail or err.kind
    )


def refund_transport_outcome(err: TransportError, *, query: bool = False) -> RefundOutcome:
    """Outcome of a refund (or a refund status call) lost below HTTP."""
    status = RefundStatus.UNKNOWN if err.ambiguous or query else RefundStatus.FAILED
    return RefundOutcome(
        status=status, error_code=transport_code(err), error_message=err.detail or err.kind
    )


def is_indeterminate(resp: HttpResponse) -> bool:
    """True for replies that say nothing about whether the gateway acted."""
    return resp.status >= 500 or resp.status == 429


def error_says_nothing(resp: HttpResponse, *, query: bool = False) -> bool | None:
    """For a reply that is an HTTP error: True when it says nothing about whether the
    gateway acted (5xx, 429, or any error answering a status query), False for a
    definite refusal; None when it is not an error (a body to parse)."""
    if is_indeterminate(resp) or (query and resp.status >= 400):
        return True
    if resp.status >= 400:
        return False
    return None


def http_code(resp: HttpResponse) -> str:
    if resp.status == 429:
        return "gateway_rate_limited"
    if resp.status >= 500:
        return "gateway_server_error"
    if resp.status in (401, 403):
        return "gateway_auth_failed"
    return f"gateway_http_{resp.status}"


def snippet(resp: HttpResponse, limit: int = 200) -> str:
    return resp.body[:limit].decode("utf-8", "replace")
