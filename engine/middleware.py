"""Request ids, error mapping, and per-route figures: the edges of every request."""

from __future__ import annotations

import logging
import time
import uuid

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from engine.keys import METRICS, STATS
from payments.logs import request_id_var
from payments.models import error_body

log = logging.getLogger("engine.http")

REQUEST_ID = "X-REQUEST-ID"
VYKED_UNCOUNTED = frozenset({"ping", "stats", "internal-ping", "internal-stats"})

# Failures that mean "the database is not there right now": answered 503 so
# clients retry, and the pool reconnects by itself when PostgreSQL returns.
DB_UNAVAILABLE = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    TimeoutError,
)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get(REQUEST_ID) or uuid.uuid4().hex
    token = request_id_var.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID] = request_id
        raise
    finally:
        request_id_var.reset(token)
    response.headers[REQUEST_ID] = request_id
    return response


def json_error(status: int, message: str, code: str) -> web.Response:
    return web.Response(status=status, body=error_body(message, code),
                        content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    route = request.match_info.route.name or "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        if exc.status == 404:
            # Vyked's unknown-route answer, which legacy clients rely on
            return web.Response(status=404, text="404: Not Found")
        raise
    except DB_UNAVAILABLE as exc:
        status = 503
        log.warning("database unavailable", extra={"error": repr(exc)})
        return json_error(503, "database unavailable, retry later", "database_unavailable")
    except Exception:
        log.exception("unhandled error")
        return json_error(500, "internal error", "internal_error")
    finally:
        elapsed = time.perf_counter() - started
        if route != "metrics":
            metrics = request.app[METRICS]
            metrics.requests.labels("engine", route, request.method, str(status)).inc()
            metrics.latency.labels("engine", route).observe(elapsed)
        resource = request.match_info.route.resource
        # Vyked counted neither its own /ping and /_stats nor unmatched paths
        if resource is not None and route not in VYKED_UNCOUNTED:
            request.app[STATS].update(
                f"{request.method} {resource.canonical}", str(status), elapsed * 1000.0,
                status < 500,
            )
