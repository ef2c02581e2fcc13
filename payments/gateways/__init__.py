"""Gateway protocols as sans-I/O flows, dispatched on the gateway name.

Each flow is a generator: it yields ``HttpRequest`` objects, receives an
``HttpResponse`` or ``TransportError`` for each, and returns an outcome. The
engine drives a flow with ``await``, the legacy service with blocking calls::

    flow = charge_flow(creds, req)
    reply = None
    try:
        request = next(flow)
        while True:
            reply = send(request)          # HttpResponse | TransportError
            request = flow.send(reply)
    except StopIteration as done:
        outcome = done.value

Drivers send ``request.path`` (which may carry a query string) relative to
the gateway base URL with exactly ``request.headers`` and ``request.body``,
and map failures below HTTP to ``TransportError``: a refused or failed
connection (nothing sent) is ``TransportError("connect", ambiguous=False)``;
a timeout after the request may have been sent is ``("timeout", True)``; a
connection dropped before the reply is ``("reset", True)``. ``request.kind``
("auth", "status", "refund") lets a driver choose a timeout per kind.

Rules every flow follows (see ``outcomes``): a timeout or reset that may have
reached the gateway, a 5xx or a 429 gives ``UNKNOWN``, never ``FAILED``;
resolve it with ``status_flow`` (or ``refund_status_flow``). Repeating
``charge_flow`` with the same attempt id never sends a second payment (the
duplicate order id is detected and the status read instead), and repeating
``refund_flow`` with the same refund id is deduplicated by the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from payments.gateways import juspay, juspay_webhooks, paytm, paytm_webhooks
from payments.gateways.base import (
    ChargeRequest,
    GatewayCredentials,
    GatewayFlow,
    GatewayName,
    RefundFlow,
    RefundRequest,
    WebhookEvent,
)
from payments.gateways.errors import UnknownGatewayError, WebhookParseError

__all__ = [
    "WebhookParseError",
    "charge_flow",
    "parse_webhook",
    "refund_flow",
    "refund_status_flow",
    "status_flow",
    "verify_webhook",
]


def _name(gateway: GatewayName | str) -> GatewayName:
    try:
        return GatewayName(gateway)
    except ValueError:
        raise UnknownGatewayError(str(gateway)) from None


def charge_flow(
    creds: GatewayCredentials, req: ChargeRequest, now: Callable[[], float] = time.time
) -> GatewayFlow:
    """Charge ``req.amount`` under the gateway order id ``req.attempt_id``.

    ``now`` is the wall clock for the timestamps some requests carry (Paytm's).
    """
    if _name(creds.gateway) is GatewayName.JUSPAY:
        return juspay.charge_flow(creds, req)
    return paytm.charge_flow(creds, req, now)


def status_flow(creds: GatewayCredentials, attempt_id: str) -> GatewayFlow:
    """Ask the gateway for the truth about one attempt."""
    if _name(creds.gateway) is GatewayName.JUSPAY:
        return juspay.status_flow(creds, attempt_id)
    return paytm.status_flow(creds, attempt_id)


def refund_flow(creds: GatewayCredentials, req: RefundRequest) -> RefundFlow:
    """Request a refund; safe to repeat with the same ``req.refund_id``."""
    if _name(creds.gateway) is GatewayName.JUSPAY:
        return juspay.refund_flow(creds, req)
    return paytm.refund_flow(creds, req)


def refund_status_flow(creds: GatewayCredentials, req: RefundRequest) -> RefundFlow:
    """Ask the gateway for the state of one refund."""
    if _name(creds.gateway) is GatewayName.JUSPAY:
        return juspay.refund_status_flow(creds, req)
    return paytm.refund_status_flow(creds, req)


def parse_webhook(gateway: GatewayName | str, body: bytes, content_type: str) -> WebhookEvent:
    """Parse a notification body; raises ``WebhookParseError``.

    Juspay sends JSON, Paytm form fields; ``content_type`` is checked loosely
    (a missing or odd header is tolerated when the body parses).
    """
    name = _name(gateway)
    ctype = content_type.split(";", 1)[0].strip().lower()
    if name is GatewayName.JUSPAY:
        if ctype and "json" not in ctype:
            raise WebhookParseError("juspay", f"unexpected content type {ctype!r}")
        return juspay_webhooks.parse_webhook(body)
    if ctype and ctype not in ("application/x-www-form-urlencoded", "text/plain"):
        raise WebhookParseError("paytm", f"unexpected content type {ctype!r}")
    return paytm_webhooks.parse_webhook(body)


def verify_webhook(  # noqa: PLR0917 - signature shared by both services
    gateway: GatewayName | str,
    headers: Mapping[str, str],
    body: bytes,
    creds: GatewayCredentials,
    webhook_username: str,
    webhook_password: str,
) -> bool:
    """Authenticate a notification: Juspay by Basic auth, Paytm by CHECKSUMHASH."""
    if _name(gateway) is GatewayName.JUSPAY:
        return juspay_webhooks.verify_webhook(headers, webhook_username, webhook_password)
    return paytm_webhooks.verify_webhook(body, creds.api_key)
