"""Juspay's older paths, still used by existing integrations (the ``juspay`` 1.1.4 client).

``POST /order/create``, ``GET|POST /order/status`` (``order_id`` as a query or
form field) and ``POST /order/refund`` (``order_id``, ``unique_request_id``,
``amount``) behave exactly like ``/orders``, ``/orders/{id}`` and
``/orders/{id}/refunds``. Every other ``/order/...`` path answers a JSON 404
naming the supported ones, never a bare text page.
"""

from __future__ import annotations

from gateway_sim.http import Response, Router
from gateway_sim.juspay_api import create_order, error, refund_of, status_of
from gateway_sim.runtime import SimRequest, SimState

ALIASES = ("/order/create", "/order/status", "/order/refund")


async def legacy_status(request: SimRequest) -> Response:
    order_id = request.query.get("order_id")
    if order_id is None and request.method == "POST":
        order_id = str((await request.post()).get("order_id", ""))
    return await status_of(request, order_id or "")


async def legacy_refund(request: SimRequest) -> Response:
    form = await request.post()
    return await refund_of(request, str(form.get("order_id", "")), form)


async def unsupported(request: SimRequest) -> Response:
    return error(
        404,
        "endpoint_not_supported",
        f"{request.method} {request.path} is not simulated; "
        f"use {', '.join(ALIASES)} or the /orders API",
    )


def add_routes(router: Router[SimState]) -> None:
    router.add_post("/order/create", create_order)
    router.add_get("/order/status", legacy_status)
    router.add_post("/order/status", legacy_status)
    router.add_post("/order/refund", legacy_refund)
    router.add("*", "/order/{tail:.*}", unsupported)
