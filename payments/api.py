"""The HTTP contract as data: one route table every service serves.

Each service registers these routes with its framework's router, turns the
framework's request into an ``ApiRequest``, drives the route's flow with its
own I/O, and writes the ``Response`` back. Routes, authentication, validation
and every body are therefore identical in all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from payments import sql
from payments.context import ApiRequest, Context
from payments.effects import Flow, Query, Response
from payments.errors import PaymentError
from payments.flows import payments, refunds, webhooks
from payments.idempotency import error_response

# ``ApiRequest`` and ``Context`` live in ``payments.context`` (the flows import them
# too); the services take them from here, with the routes.
__all__ = [
    "ApiRequest",
    "Context",
    "FlowFn",
    "Route",
    "handle",
    "health_flow",
    "routes",
]


FlowFn = Callable[[Context, ApiRequest], Flow[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: str  # "/v1/payments/{payment_id}/confirm"
    name: str  # stable name for metrics and stats
    flow: FlowFn


def routes() -> tuple[Route, ...]:
    """Every payment route of the contract (``openapi.yaml``)."""
    return (
        Route("POST", "/v1/payments", "create_payment", payments.create_payment),
        Route("GET", "/v1/payments", "list_payments", payments.list_payments),
        Route("GET", "/v1/payments/{payment_id}", "get_payment", payments.get_payment),
        Route(
            "POST", "/v1/payments/{payment_id}/confirm", "confirm_payment",
            payments.confirm_payment,
        ),
        Route("POST", "/v1/payments/{payment_id}/sync", "sync_payment", payments.sync_payment),
        Route(
            "POST", "/v1/payments/{payment_id}/refunds", "create_refund", refunds.create_refund
        ),
        Route("GET", "/v1/refunds/{refund_id}", "get_refund", refunds.get_refund),
        Route("POST", "/v1/webhooks/juspay", "webhook_juspay", webhooks.juspay_webhook),
        Route("POST", "/v1/webhooks/paytm", "webhook_paytm", webhooks.paytm_webhook),
    )


def handle(ctx: Context, matched: Route, req: ApiRequest) -> Flow[Response]:
    """Run a route's flow; domain errors become ``{"error", "code"}`` responses."""
    try:
        return (yield from matched.flow(ctx, req))
    except PaymentError as exc:
        return error_response(exc)


def health_flow() -> Flow[bool]:
    """The database half of ``GET /health``; the driver checks its cache itself."""
    row = yield Query(sql.PING)
    return row is not None
