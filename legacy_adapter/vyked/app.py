"""The WSGI application serving one :class:`HTTPService`.

Per request: read or generate ``X-REQUEST-ID``, resolve the route, check
``required_params``, call the blocking handler, map exceptions, record
``/_stats`` figures, and set ``X-REQUEST-ID`` on whatever goes out (errors
included). Framework routes ``GET /ping`` and ``GET /_stats`` are served at
the root and under ``/__onemg-internal__``, unless the service defines them.

Bodies reproduced byte for byte from Vyked (which encoded with ``json.dumps``):

- missing required params: 400 ``{"error": "Required params a,b not found"}``;
- unknown path: 404 ``404: Not Found`` (text/plain); known path, other
  method: 405 ``405: Method Not Allowed`` with ``Allow``, as aiohttp answered;
- uncaught exception: logged with its traceback and request id, answered
  500 ``500: Internal Server Error`` (text/plain, no traceback leaked).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

from serving.stats import Aggregator

from .context import REQUEST_ID_HEADER, accept_request_id, reset_request_id, set_request_id
from .errors import HTTPError, VykedServiceException
from .request import Request
from .response import Response, error_response, status_line, text_error
from .routing import INTERNAL_PREFIX, Route, Router
from .service import HTTPService

_logger = logging.getLogger("legacy_adapter.vyked")

UNHANDLED = "unhandled_exception"  # Vyked's /_stats key for a handler that raised


def _decode_path(raw: str) -> str:
    # PEP 3333 hands PATH_INFO over as latin-1-decoded bytes; routes are text.
    if not raw:
        return "/"
    if raw.isascii():
        return raw
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


class WSGIApplication:
    """A WSGI callable for one service; build it once per process."""

    def __init__(self, service: HTTPService) -> None:
        self.service = service
        self.stats = Aggregator()
        self.router = Router()
        for spec, handler in service.endpoints():
            for path in spec.paths:
                self.router.add(spec.method, path, handler, spec.required_params)
        if service.cross_domain_allowed:
            for route in self.router.routes:
                if not self.router.has("OPTIONS", route.pattern):
                    self.router.add(
                        "OPTIONS", route.pattern, service.preflight_response, counted=False
                    )
        for prefix in ("", INTERNAL_PREFIX):
            if not self.router.has("GET", prefix + "/ping"):
                self.router.add("GET", prefix + "/ping", self._ping, counted=False)
            if not self.router.has("GET", prefix + "/_stats"):
                self.router.add("GET", prefix + "/_stats", self._stats, counted=False)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = accept_request_id(environ.get("HTTP_X_REQUEST_ID"))
        token = set_request_id(request_id)
        try:
            response = self.handle(environ, request_id)
        finally:
            reset_request_id(token)
        # Set, not appended: a handler's own Content-Length or request id must not duplicate.
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers["Content-Length"] = str(len(response.body))
        start_response(status_line(response.status, response.reason), response.headers.to_list())
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return [response.body]

    def handle(self, environ: WSGIEnvironment, request_id: str) -> Response:
        """The response to one request (never raises)."""
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = _decode_path(str(environ.get("PATH_INFO", "")))
        resolved = self.router.resolve(method, path)
        if resolved is None:
            allowed = self.router.allowed_methods(path)
            if not allowed:
                return text_error(404)
            response = text_error(405)
            response.headers["Allow"] = ",".join(allowed)
            return response
        route, match_info = resolved
        request = Request(
            environ,
            method=method,
            path=path,
            match_info=match_info,
            request_id=request_id,
            client_max_size=self.service.client_max_size,
        )
        if not route.counted:
            return self._call(route, request)[0]
        started = time.perf_counter()
        if route.required_params:
            try:
                missing = [name for name in route.required_params if not request.has_param(name)]
            except HTTPError as exc:
                return text_error(exc.status, exc.text)
            if missing:
                self.stats.update(route.stats_key, "400", _elapsed_ms(started), success=False)
                body = {"error": "Required params {} not found".format(",".join(missing))}
                return Response(
                    status=400, content_type="application/json", body=json.dumps(body).encode()
                )
        response, status_key, success = self._call(route, request)
        self.stats.update(route.stats_key, status_key, _elapsed_ms(started), success)
        return response

    def _call(self, route: Route, request: Request) -> tuple[Response, str, bool]:
        """Run the handler: (response, /_stats status key, counts as success)."""
        try:
            response: object = route.handler(request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a response (logged there)
            return self._from_exception(exc, request)
        if not isinstance(response, Response):
            return self._from_exception(
                TypeError(f"handler returned {type(response).__name__}, not a Response"), request
            )
        # Vyked counted every returned response as a success, whatever its status.
        return response, str(response.status), True

    def _from_exception(self, exc: Exception, request: Request) -> tuple[Response, str, bool]:
        hook = self.service.error_handler_for(exc)
        if hook is not None:
            try:
                mapped = hook(exc, request)
            except Exception:
                _logger.exception(
                    "error handler failed for %s %s (request id %s)",
                    request.method,
                    request.path,
                    request.request_id,
                )
                return text_error(500), UNHANDLED, False
            if mapped is not None:
                return mapped, str(mapped.status), mapped.status < 500
        if isinstance(exc, HTTPError):
            return text_error(exc.status, exc.text), str(exc.status), exc.status < 500
        if isinstance(exc, VykedServiceException):
            response = error_response(
                exc.message, status=exc.status, code=exc.code, dumps=self.service.json_dumps
            )
            return response, str(exc.status), exc.status < 500
        _logger.error(
            "unhandled exception in %s %s (request id %s)",
            request.method,
            request.path,
            request.request_id,
            exc_info=exc,
        )
        return text_error(500), UNHANDLED, False

    def _ping(self, request: Request) -> Response:
        return Response()

    def _stats(self, request: Request) -> Response:
        return Response(
            status=200, content_type="application/json", body=json.dumps(self.stats.dump()).encode()
        )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
