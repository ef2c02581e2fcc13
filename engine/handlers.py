"""HTTP handlers: the contract's routes from ``payments.api`` plus operations endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web

from engine.keys import CONTEXT, METRICS, POOL, PORTS, REDIS, STATS
from payments.api import ApiRequest, Route, handle, health_flow, routes
from payments.effects import run_async
from payments.models import encode_json
from serving.metrics import render

INTERNAL_PREFIX = "/__onemg-internal__"
JSON = "application/json"


def _route_handler(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
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
        result = await run_async(handle(app[CONTEXT], route, api_request), app[PORTS])
        return web.Response(
            status=result.status, body=result.body, headers=result.headers, content_type=JSON
        )

    return handler


async def ping(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def stats(request: web.Request) -> web.Response:
    return web.Response(body=encode_json(request.app[STATS].dump()), content_type=JSON)


async def health(request: web.Request) -> web.Response:
    app = request.app
    report = {"status": "ok", "db": "ok", "redis": "ok"}
    try:
        await run_async(health_flow(), app[PORTS])
    except Exception:
        report["db"] = "unavailable"
    try:
        await app[REDIS].ping()
    except (aioredis.RedisError, OSError):
        report["redis"] = "unavailable"
    ok = report["db"] == "ok" and report["redis"] == "ok"
    report["status"] = "ok" if ok else "degraded"
    return web.Response(status=200 if ok else 503, body=encode_json(report), content_type=JSON)


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    m = app[METRICS]
    pool = app[POOL]
    m.db_pool_size.set(pool.get_size())
    m.db_pool_in_use.set(pool.get_size() - pool.get_idle_size())
    body, content_type = render(m)
    return web.Response(body=body, headers={"Content-Type": content_type})


def register_routes(app: web.Application) -> None:
    for route in routes():
        app.router.add_route(route.method, route.pattern, _route_handler(route), name=route.name)
    for prefix, tag in (("", ""), (INTERNAL_PREFIX, "internal-")):
        app.router.add_get(f"{prefix}/ping", ping, name=f"{tag}ping")
        app.router.add_get(f"{prefix}/_stats", stats, name=f"{tag}stats")
    app.router.add_get("/health", health, name="health")
    app.router.add_get("/metrics", metrics, name="metrics")
