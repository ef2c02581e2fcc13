"""The edges of every request: request ids, per-route figures, and error bodies.

Sanic's own error pages choose text, JSON or HTML from ``Accept`` and use
Sanic's wording; the contract fixes the bytes instead, so every error the
framework raises has a handler here: ``404: Not Found`` and the other
plain-text answers Vyked gave (``405`` with ``Allow``, ``413``), 503 with
``database_unavailable`` while PostgreSQL is away, 500 ``internal_error``
for anything unexpected. Domain errors never reach these handlers: the
shared flows turn them into responses themselves.
"""

from __future__ import annotations

import logging
import time
import uuid
from http import HTTPStatus

import asyncpg
from sanic.exceptions import MethodNotAllowed, NotFound, SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse
from tortoise.exceptions import DBConnectionError

from payments.models import error_body
from sanic_service.state import ServiceApp, ServiceRequest
from serving.logs import request_id_var
from serving.operations import UNMATCHED, request_served

log = logging.getLogger("sanic_service.http")

REQUEST_ID = "X-REQUEST-ID"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

# Failures that mean "the database is not there right now": answered 503 so clients
# retry. Tortoise passes asyncpg's connection errors through untranslated, and its
# pool reconnects by itself when PostgreSQL returns.
DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    DBConnectionError,
    TimeoutError,
)


def text_error(status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    """Vyked's plain-text error answer: ``"<status>: <reason phrase>"``."""
    body = f"{status}: {HTTPStatus(status).phrase}".encode()
    return HTTPResponse(body, status=status, headers=headers, content_type=TEXT)


def json_error(status: int, message: str, code: str) -> HTTPResponse:
    return HTTPResponse(error_body(message, code), status=status, content_type=JSON)


async def on_request(request: ServiceRequest) -> None:
    # request.id would parse the header into a UUID or int; the contract echoes it as sent
    request_id = request.headers.get(REQUEST_ID) or uuid.uuid4().hex
    request.ctx.request_id = request_id
    request.ctx.started = time.perf_counter()
    request.ctx.token = request_id_var.set(request_id)


async def on_response(request: ServiceRequest, response: BaseHTTPResponse) -> None:
    ctx = request.ctx
    request_id = getattr(ctx, "request_id", None)
    if request_id is None:  # failed before routing ran (malformed request line)
        return
    response.headers[REQUEST_ID] = request_id
    request_id_var.reset(ctx.token)
    elapsed = time.perf_counter() - ctx.started
    route = request.route
    name = route.ctx.metric_name if route is not None else UNMATCHED
    pattern = route.ctx.pattern if route is not None else None
    state = request.app.ctx
    metrics = state.resources.metrics if state.resources is not None else None
    request_served(
        metrics, state.stats, name, request.method,
        pattern=pattern, status=response.status, seconds=elapsed,
    )  # fmt: skip


def not_found(request: ServiceRequest, exc: Exception) -> HTTPResponse:
    return text_error(404)  # Vyked's unknown-route answer, which legacy clients rely on


def method_not_allowed(request: ServiceRequest, exc: Exception) -> HTTPResponse:
    allowed = getattr(exc, "allowed_methods", None) or ()
    return text_error(405, {"Allow": ",".join(sorted(allowed))})


def framework_error(request: ServiceRequest, exc: Exception) -> HTTPResponse:
    """Anything else Sanic refuses (413, 400, 408 ...): plain text like Vyked's HTTPError."""
    status = exc.status_code if isinstance(exc, SanicException) else 500
    return text_error(status)


def database_unavailable(request: ServiceRequest, exc: Exception) -> HTTPResponse:
    log.warning("database unavailable", extra={"error": repr(exc)})
    return json_error(503, "database unavailable, retry later", "database_unavailable")


def internal_error(request: ServiceRequest, exc: Exception) -> HTTPResponse:
    log.error("unhandled error", exc_info=exc)
    return json_error(500, "internal error", "internal_error")


def install(app: ServiceApp) -> None:
    """Register the request middleware and one error handler per case the contract fixes."""
    app.register_middleware(on_request, "request")
    app.register_middleware(on_response, "response")
    app.error_handler.add(NotFound, not_found)
    app.error_handler.add(MethodNotAllowed, method_not_allowed)
    app.error_handler.add(SanicException, framework_error)
    for exc_type in DB_UNAVAILABLE:
        app.error_handler.add(exc_type, database_unavailable)
    app.error_handler.add(Exception, internal_error)
