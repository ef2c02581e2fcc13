"""Routes: the contract's table from ``payments.api`` plus the operations endpoints."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from sanic.response import HTTPResponse
from tortoise import Tortoise

from payments.api import ApiRequest, Route, handle, routes
from payments.effects import Response, run_async
from payments.models import encode_json
from sanic_service.state import ServiceApp, ServiceRequest
from serving.operations import ENDPOINTS, check_health_async, scrape

JSON = "application/json"
Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]
_PARAM = re.compile(r"\{([a-z_]+)\}")


def sanic_uri(pattern: str) -> str:
    """``/v1/payments/{payment_id}`` -> ``/v1/payments/<payment_id:str>`` (one path segment)."""
    return _PARAM.sub(r"<\1:str>", pattern)


def media_type(request: ServiceRequest) -> str:
    """The media type without parameters, lower case (as aiohttp and the Vyked shim give it)."""
    raw = request.headers.get("content-type") or "application/octet-stream"
    return raw.split(";", 1)[0].strip().lower()


def _answer(result: Response) -> HTTPResponse:
    return HTTPResponse(
        result.body, status=result.status, headers=dict(result.headers), content_type=JSON
    )


def _route_handler(route: Route) -> Handler:
    async def handler(request: ServiceRequest, **params: str) -> HTTPResponse:
        state = request.app.ctx
        query = {k: v[0] for k, v in request.get_args(keep_blank_values=True).items() if v}
        api_request = ApiRequest(
            method=request.method,
            path=request.path,
            params=params,
            query=query,
            authorization=request.headers.get("Authorization"),
            idempotency_key=request.headers.get("Idempotency-Key"),
            body=request.body,
            content_type=media_type(request),
            headers=request.headers,
        )
        return _answer(await run_async(handle(state.context, route, api_request), state.ports()))

    handler.__name__ = route.name
    return handler


class EmptyResponse(HTTPResponse):
    """200 with no body and no Content-Type, as the others answer /ping.

    Sanic sends ``content-type: None`` for a response without a content type.
    """

    @property
    def processed_headers(self) -> Iterator[tuple[bytes, bytes]]:
        return ((k, v) for k, v in super().processed_headers if k != b"content-type")


async def ping(request: ServiceRequest) -> HTTPResponse:
    return EmptyResponse(status=200)


async def stats(request: ServiceRequest) -> HTTPResponse:
    return HTTPResponse(encode_json(request.app.ctx.stats.dump()), content_type=JSON)


async def health(request: ServiceRequest) -> HTTPResponse:
    state = request.app.ctx
    return _answer(await check_health_async(state.ports(), state.running().cache.ping))


async def metrics(request: ServiceRequest) -> HTTPResponse:
    # Tortoise exposes no pool figures; its asyncpg pool is None until the first query
    pool = getattr(Tortoise.get_connection("default"), "_pool", None)
    figures = (pool.get_size(), pool.get_idle_size()) if pool is not None else (0, 0)
    body, content_type = scrape(request.app.ctx.running().metrics, *figures)
    return HTTPResponse(body, content_type=content_type)


OPERATIONS: dict[str, Handler] = {
    "ping": ping, "stats": stats, "health": health, "metrics": metrics
}


def register_routes(app: ServiceApp) -> None:
    """Every route of the contract, then /ping, /_stats (also under Vyked's internal prefix),
    /health and /metrics; ``ctx`` carries the names the figures are kept under."""
    for route in routes():
        app.add_route(
            _route_handler(route), sanic_uri(route.pattern), methods=[route.method],
            name=route.name, unquote=True, ctx_metric_name=route.name, ctx_pattern=route.pattern,
        )  # fmt: skip
    for endpoint in ENDPOINTS:
        app.add_route(OPERATIONS[endpoint.kind], endpoint.path, methods=["GET"], name=endpoint.name,
                      ctx_metric_name=endpoint.name, ctx_pattern=endpoint.path)  # fmt: skip
