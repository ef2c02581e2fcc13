"""Request ids, error mapping, and per-route figures: the edges of every request."""

from __future__ import annotations

import logging
import time
import uuid

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from engine.keys import METRICS, STATS
from payments.models import error_body
from serving.logs import request_id_var
from serving.operations import UNMATCHED, request_served

log = logging.getLogger("engine.http")

REQUEST_ID = "X-REQUEST-ID"

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


def json_error(status: int, message: str, code: str) -> web.Response:
    return web.Response(status=status, body=error_body(message, code),
                        content_type="application/json")


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request id, the mapping of errors to answers, and the request's figures.

    One middleware rather than one per concern: each layer costs a call and
    a closure per request, and these three share the request's start and end.
    """
    request_id = request.headers.get(REQUEST_ID) or uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    route = request.match_info.route
    name = route.name or UNMATCHED
    status = 500
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as exc:
        status = exc.status
        if exc.status != 404:
            exc.headers[REQUEST_ID] = request_id
            raise
        # Vyked's unknown-route answer, which legacy clients rely on
        response = web.Response(status=404, text="404: Not Found")
    except DB_UNAVAILABLE as exc:
        status = 503
        log.warning("database unavailable", extra={"error": repr(exc)})
        response = json_error(503, "database unavailable, retry later", "database_unavailable")
    except Exception:
        log.exception("unhandled error")
        response = json_error(500, "internal error", "internal_error")
    finally:
        request_id_var.reset(token)
        elapsed = time.perf_counter() - started
        pattern = route.resource.canonical if route.resource is not None else None
        request_served(
            request.app[METRICS], request.app[STATS], name, request.method,
            pattern=pattern, status=status, seconds=elapsed,
        )  # fmt: skip
    response.headers[REQUEST_ID] = request_id
    return response
