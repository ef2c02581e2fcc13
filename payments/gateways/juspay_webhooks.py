"""What Juspay sends the merchant: webhooks and the signed return URL.

Webhooks are ``{"id", "event_name", "date_created", "content": {"order":
...}}`` JSON, authenticated with the Basic credentials the merchant set in
Juspay's dashboard. The browser comes back to the merchant's return URL with
parameters Juspay signs with the merchant's response key (HMAC-SHA256).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote_plus, unquote_plus

from payments.gateways.base import GatewayName, WebhookEvent
from payments.gateways.errors import WebhookParseError
from payments.gateways.juspay import outcome_from_order, refund_outcome
from payments.gateways.wire import as_str, basic_auth_matches, decode_json_object, header

# Events about a refund; every other event (ORDER_SUCCEEDED, ORDER_FAILED, TXN_CREATED,
# ...) carries the order's new state, which settles the charge.
REFUND_EVENTS = frozenset({"ORDER_REFUNDED", "ORDER_REFUND_FAILED", "REFUND_MANUAL_REVIEW_NEEDED"})


def parse_webhook(body: bytes) -> WebhookEvent:
    """Parse ``{"id", "event_name", "date_created", "content": {"order": {...}}}``.

    Refund events identify their refund by ``content.refund`` when present,
    else by the most recent refund in ``order.refunds``.
    """
    doc = decode_json_object(body)
    if doc is None:
        raise WebhookParseError("juspay", "body is not a JSON object")
    event_id = as_str(doc.get("id"))
    event_name = as_str(doc.get("event_name"))
    content = doc.get("content")
    if not event_id or not event_name or not isinstance(content, dict):
        raise WebhookParseError("juspay", "missing id, event_name or content")
    order = content.get("order")
    if not isinstance(order, dict):
        raise WebhookParseError("juspay", "content.order missing")
    order_id = as_str(order.get("order_id"))
    if not order_id:
        raise WebhookParseError("juspay", "order.order_id missing")
    if event_name in REFUND_EVENTS:
        refund = content.get("refund")
        if not isinstance(refund, dict):
            refunds = [r for r in order.get("refunds") or [] if isinstance(r, dict)]
            refund = refunds[-1] if refunds else None
        if refund is None:
            raise WebhookParseError("juspay", "refund event without a refund")
        return WebhookEvent(
            GatewayName.JUSPAY,
            event_id,
            order_id,
            "refund",
            refund_id=as_str(refund.get("unique_request_id")),
            refund=refund_outcome(refund),
        )
    return WebhookEvent(GatewayName.JUSPAY, event_id, order_id, "charge", outcome_from_order(order))


def verify_webhook(headers: Mapping[str, str], username: str, password: str) -> bool:
    """Juspay authenticates webhooks with the Basic credentials the merchant set."""
    if not username and not password:
        return False
    return basic_auth_matches(header(headers, "Authorization"), username, password)


# -- return-URL signature ----------------------------------------------------------

SIGNATURE_FIELDS = frozenset({"signature", "signature_algorithm"})


def return_url_signature(params: Mapping[str, str], response_key: str) -> str:
    """Juspay's signature of the parameters it appends to the merchant's return URL.

    All parameters but ``signature`` and ``signature_algorithm``, keys and
    values percent-encoded, sorted by key, joined ``k=v&...``, the whole
    string percent-encoded again, HMAC-SHA256 with the response key, base64.
    """
    pairs = sorted(
        (quote_plus(k), quote_plus(v)) for k, v in params.items() if k not in SIGNATURE_FIELDS
    )
    message = quote_plus("&".join(f"{k}={v}" for k, v in pairs))
    digest = hmac.new(response_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_return_url(params: Mapping[str, str], response_key: str) -> bool:
    """Check ``params["signature"]`` (plain or still percent-encoded) in constant time."""
    given = params.get("signature")
    if not given or params.get("signature_algorithm", "HMAC-SHA256") != "HMAC-SHA256":
        return False
    expected = return_url_signature(params, response_key)
    return any(
        hmac.compare_digest(candidate.encode(), expected.encode())
        for candidate in (given, unquote_plus(given))
    )
