"""The HTTP contract as data: one route table both services serve.

A service turns its framework's request into an ``ApiRequest``, finds the
route with ``match``, drives the route's flow with its own I/O, and writes the
``Response`` back. Routing rules, authentication, validation and every body
are therefore identical in the two services.
"""

from __future__ import annotations

import re
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
    "match",
    "route",
    "routes",
]


FlowFn = Callable[[Context, ApiRequest], Flow[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: str  # "/v1/payments/{payment_id}/confirm"
    name: str  # stable name for metrics and stats
    flow: FlowFn
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", pattern)
    out = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^{out}$")


def route(method: str, pattern: str, name: str, flow: FlowFn) -> Route:
    return Route(method, pattern, name, flow, _compile(pattern))


def match(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method`` and ``path`` with its parameters, or None."""
    for r in routes:
        if r.method == method:
            m = r.regex.match(path)
            if m:
                return r, m.groupdict()
    return None


def routes() -> tuple[Route, ...]:
    """Every payment route of the contract (``openapi.yaml``)."""
    return (
        route("POST", "/v1/payments", "create_payment", payments.create_payment),
        route("GET", "/v1/payments", "list_payments", payments.list_payments),
        route("GET", "/v1/payments/{payment_id}", "get_payment", payments.get_payment),
        route(
            "POST", "/v1/payments/{payment_id}/confirm", "confirm_payment",
            payments.confirm_payment,
        ),
        route("POST", "/v1/payments/{payment_id}/sync", "sync_payment", payments.sync_payment),
        route(
            "POST", "/v1/payments/{payment_id}/refunds", "create_refund", refunds.create_refund
        ),
        route("GET", "/v1/refunds/{refund_id}", "get_refund", refunds.get_refund),
        route("POST", "/v1/webhooks/juspay", "webhook_juspay", webhooks.juspay_webhook),
        route("POST", "/v1/webhooks/paytm", "webhook_paytm", webhooks.paytm_webhook),
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
