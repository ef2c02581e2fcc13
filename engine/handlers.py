"""HTTP handlers: the contract's routes from ``payments.api`` plus operations endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from engine.keys import CONTEXT, METRICS, POOL, PORTS, REDIS, STATS
from payments.api import ApiRequest, Route, handle, routes
from payments.effects import Response, run_async
from payments.models import encode_json
from serving.operations import ENDPOINTS, check_health_async, scrape

JSON = "application/json"
AiohttpHandler = Callable[[web.Request], Awaitable[web.Response]]


def _answer(result: Response) -> web.Response:
    return web.Response(
        status=result.status, body=result.body, headers=result.headers, content_type=JSON
    )


def _route_handler(route: Route) -> AiohttpHandler:
    async def handler(request: web.Request) -> web.Response:
        app = request.app
        api_request = ApiRequest(
            method=request.method,
            path=request.path,
            params=request.match_info,
            query=request.query,
            authorization=request.headers.get("Authorization"),
            idempotency_key=request.headers.get("Idempotency-Key"),
            body=await request.read(),
            content_type=request.content_type,
            headers=request.headers,
        )
        return _answer(await run_async(handle(app[CONTEXT], route, api_request), app[PORTS]))

    return handler


async def ping(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def stats(request: web.Request) -> web.Response:
    return web.Response(body=encode_json(request.app[STATS].dump()), content_type=JSON)


async def health(request: web.Request) -> web.Response:
    app = request.app
    return _answer(await check_health_async(app[PORTS], app[REDIS].ping))


async def metrics(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    body, content_type = scrape(request.app[METRICS], pool.get_size(), pool.get_idle_size())
    return web.Response(body=body, headers={"Content-Type": content_type})


OPERATIONS: dict[str, AiohttpHandler] = {
    "ping": ping, "stats": stats, "health": health, "metrics": metrics
}


def register_routes(app: web.Application) -> None:
    for route in routes():
        app.router.add_route(route.method, route.pattern, _route_handler(route), name=route.name)
    for endpoint in ENDPOINTS:
        app.router.add_get(endpoint.path, OPERATIONS[endpoint.kind], name=endpoint.name)
