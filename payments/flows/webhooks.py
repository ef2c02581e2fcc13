"""Gateway webhooks: authenticated, applied with compare-and-set, deduplicated.

A webhook is parsed, tied to its attempt (or refund) and so to a merchant,
authenticated with that merchant's credentials (Juspay: the Basic credentials
the merchant configured; Paytm: the checksum), applied with the same
compare-and-set as every other settlement, and only then recorded as seen. A
duplicate or out-of-order event therefore changes nothing, and a forged one
is refused before anything is written.
"""

from __future__ import annotations

from payments import gateways, sql
from payments.auth import merchant_by_id
from payments.context import ApiRequest, Context
from payments.effects import Flow, Query, Response
from payments.errors import NotFound, Unauthorized, ValidationError
from payments.flows.common import cache_payment, settle_attempt
from payments.flows.refunds import settle_refund
from payments.gateways.base import GatewayName
from payments.gateways.errors import WebhookParseError
from payments.models import encode_json
from payments.validation import is_object_id

# Attempt and refund statuses that no event can change (compare-and-set would refuse).
SETTLED = frozenset({"succeeded", "failed"})


def juspay_webhook(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``POST /v1/webhooks/juspay``."""
    return (yield from _webhook(ctx, req, GatewayName.JUSPAY))


def paytm_webhook(ctx: Context, req: ApiRequest) -> Flow[Response]:
    """``POST /v1/webhooks/paytm``."""
    return (yield from _webhook(ctx, req, GatewayName.PAYTM))


def _webhook(ctx: Context, req: ApiRequest, gateway: GatewayName) -> Flow[Response]:
    try:
        event = gateways.parse_webhook(gateway, req.body, req.content_type)
    except WebhookParseError as exc:
        raise ValidationError(f"malformed webhook: {exc}", code="invalid_webhook") from None
    # ids come from an unauthenticated body: only well-formed ones reach the database
    if not is_object_id(event.attempt_id) or (
        event.refund_id is not None and not is_object_id(event.refund_id)
    ):
        raise NotFound("webhook for an unknown order")
    if event.kind == "refund" and event.refund_id:
        target = yield Query(sql.GET_REFUND_BY_ID, (event.refund_id,))
    else:
        target = yield Query(sql.GET_ATTEMPT, (event.attempt_id,))
    if target is None:
        raise NotFound("webhook for an unknown order")
    merchant = yield from merchant_by_id(target["merchant_id"], ctx.merchants)
    if merchant is None:
        raise NotFound("webhook for an unknown merchant")
    authentic = gateways.verify_webhook(
        gateway,
        req.headers,
        req.body,
        merchant.credentials(gateway),
        merchant.webhook_username,
        merchant.webhook_password,
    )
    if not authentic:
        raise Unauthorized("webhook authentication failed", code="invalid_signature")
    if target["status"] in SETTLED:
        pass  # already final (the reply or an earlier event told us): nothing can change
    elif event.kind == "refund" and event.refund is not None and event.refund_id:
        yield from settle_refund(ctx, merchant.id, event.refund_id, event.refund)
    elif event.charge is not None:
        payment = yield from settle_attempt(
            merchant.id, target["payment_id"], event.attempt_id, event.charge
        )
        yield from cache_payment(ctx, payment)
    first = yield Query(sql.RECORD_WEBHOOK_EVENT, (gateway.value, event.event_id))
    return Response(200, encode_json({"received": True, "duplicate": first is None}))
