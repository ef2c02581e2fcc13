"""The simulator's HTTP/1.1 server: a router and a request handler loop on asyncio.

The simulator answers every gateway call of every run on the same machine as
the services it serves, so its CPU per call is taken from the budget the
measured service gets. With a handler that does nothing, at a service's pace,
aiohttp's server costs about 110 us of CPU per request, Sanic's about 100, this
one about 50 (request parsed by ``httptools``, the C parser uvicorn and Sanic
use, one task per request, one ``write`` per reply), the bare protocol under it
about 33: ``benchmarks/http_server_floor.py`` and ``benchmarks/README.md``.

It serves what the simulator needs and nothing more: keep-alive and
pipelined requests answered in order, ``Content-Length`` and chunked bodies
up to ``MAX_BODY``, ``Expect: 100-continue``, ``HEAD`` on ``GET`` routes,
routes with ``{name}`` segments (``{name:regex}`` for a custom pattern),
404/405 for the rest, a 500 (logged) when a handler fails. A handler keeps
running when its client goes away, as under aiohttp: a gateway that received
a call acts on it whether or not the caller waits for the reply.

Handlers get a ``Request`` and return a ``Response``, or raise an
``HTTPException`` (which is a ``Response``) to answer early.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from http import HTTPStatus
from typing import Any, Generic, TypeVar, cast
from urllib.parse import unquote, unquote_plus

import httptools
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

log = logging.getLogger(__name__)

MAX_BODY = 1024**2
"""Largest request body accepted; a larger one is answered 413 and the connection closed."""

MAX_PIPELINED = 32
"""Requests read ahead of the one being answered; past it the connection stops reading."""

FORM_TYPE = "application/x-www-form-urlencoded"

S = TypeVar("S")

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_STATUS_LINES = {code: f"HTTP/1.1 {code} {phrase}\r\n" for code, phrase in _REASONS.items()}
_EMPTY_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())


class Response:
    """A complete reply: status, headers and a body of bytes."""

    def __init__(
        self,
        *,
        status: int = 200,
        body: bytes = b"",
        text: str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = text.encode() if text is not None else body
        self.headers: dict[str, str] = dict(headers) if headers else {}
        if content_type is not None:
            charset = "; charset=utf-8" if text is not None else ""
            self.headers["Content-Type"] = content_type + charset

    def encode(self, *, head_only: bool = False, keep_alive: bool = True) -> bytes:
        """The reply as written on the connection."""
        status_line = _STATUS_LINES.get(self.status) or f"HTTP/1.1 {self.status} Unknown\r\n"
        lines = [status_line]
        lines.extend(f"{name}: {value}\r\n" for name, value in self.headers.items())
        lines.append(f"Content-Length: {len(self.body)}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        return head if head_only else head + self.body


class HTTPException(Response, Exception):
    """A reply raised from inside a handler."""

    status_code = 500

    def __init__(
        self,
        *,
        text: str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        Exception.__init__(self, self.status_code)
        if text is None:
            text = f"{self.status_code}: {_REASONS.get(self.status_code, 'Error')}"
            content_type = content_type or "text/plain"
        Response.__init__(
            self, status=self.status_code, text=text, content_type=content_type, headers=headers
        )


class HTTPBadRequest(HTTPException):
    status_code = 400


class HTTPGatewayTimeout(HTTPException):
    status_code = 504


class HTTPFound(HTTPException):
    """A 302 to ``location``."""

    status_code = 302

    def __init__(self, location: str) -> None:
        super().__init__(text="", headers={"Location": location})


class Request(Generic[S]):
    """One request, read in full before the handler runs."""

    __slots__ = (
        "_form", "_headers", "_headers_raw", "_query", "_query_text", "body", "match_info",
        "method", "path", "state", "transport",
    )  # fmt: skip

    def __init__(
        self,
        state: S,
        transport: asyncio.Transport | None,
        *,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        self.state = state
        self.transport = transport
        self.method = method
        self.path = path
        self.body = body
        self.match_info: dict[str, str] = {}
        self._query_text = query
        self._headers_raw = headers
        self._headers: CIMultiDictProxy[str] | None = None
        self._query: MultiDictProxy[str] | None = None
        self._form: MultiDictProxy[str] | None = None

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        if self._headers is None:
            self._headers = CIMultiDictProxy(
                CIMultiDict(
                    (name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
                    for name, value in self._headers_raw
                )
            )
        return self._headers

    @property
    def query(self) -> MultiDictProxy[str]:
        if self._query is None:
            if not self._query_text:
                self._query = _EMPTY_QUERY
            else:
                self._query = MultiDictProxy(MultiDict(parse_form(self._query_text)))
        return self._query

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")

    @property
    def scheme(self) -> str:
        return "http"

    async def read(self) -> bytes:
        return self.body

    async def post(self) -> MultiDictProxy[str]:
        """The form fields of a form-encoded body (none for any other body, as aiohttp)."""
        if self._form is None:
            kind = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if kind != FORM_TYPE or not self.body:
                self._form = _EMPTY_QUERY
            else:
                text = self.body.decode("utf-8", "surrogateescape")
                self._form = MultiDictProxy(MultiDict(parse_form(text)))
        return self._form

    async def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.body)


Handler = Callable[[Request[S]], Coroutine[Any, Any, Response]]

_SEGMENT = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<pattern>[^{}]+))?\}")


class Router(Generic[S]):
    """Routes by method and path: fixed paths by one dict lookup, then patterns in order."""

    def __init__(self) -> None:
        self._fixed: dict[str, dict[str, Handler[S]]] = {}
        self._patterns: list[tuple[re.Pattern[str], dict[str, Handler[S]]]] = []

    def add(self, method: str, path: str, handler: Handler[S]) -> None:
        """``method`` is a verb or ``*`` for any; ``{name}`` matches one segment."""
        method = method.upper()
        if not _SEGMENT.search(path):
            table = self._fixed.setdefault(path, {})
        else:
            regex = re.compile(_compile(path))
            for existing, found in self._patterns:
                if existing.pattern == regex.pattern:
                    table = found
                    break
            else:
                table = {}
                self._patterns.append((regex, table))
        if method in table:
            raise ValueError(f"route {method} {path} is added twice")
        table[method] = handler

    def add_get(self, path: str, handler: Handler[S]) -> None:
        self.add("GET", path, handler)

    def add_post(self, path: str, handler: Handler[S]) -> None:
        self.add("POST", path, handler)

    def add_put(self, path: str, handler: Handler[S]) -> None:
        self.add("PUT", path, handler)

    def resolve(self, method: str, path: str) -> tuple[Handler[S], dict[str, str]] | Response:
        """The handler and path parameters for a request, or the 404/405 reply.

        As aiohttp: a path whose route lacks the method goes on to the next
        matching route; 405 only when some route matched and none has it.
        """
        table = self._fixed.get(path)
        if table is not None:
            handler = _pick(table, method)
            if handler is not None:
                return handler, {}
        allowed = set(table or ())
        for regex, candidate in self._patterns:
            match = regex.fullmatch(path)
            if match is not None:
                handler = _pick(candidate, method)
                if handler is not None:
                    return handler, match.groupdict()
                allowed |= set(candidate)
        if not allowed:
            return HTTPNotFound()
        if "GET" in allowed:
            allowed.add("HEAD")
        return HTTPMethodNotAllowed(headers={"Allow": ",".join(sorted(allowed))})


def _pick(table: dict[str, Handler[S]], method: str) -> Handler[S] | None:
    handler = table.get(method) or table.get("*")
    if handler is None and method == "HEAD":
        handler = table.get("GET")
    return handler


class HTTPNotFound(HTTPException):
    status_code = 404


class HTTPMethodNotAllowed(HTTPException):
    status_code = 405


def parse_form(text: str) -> list[tuple[str, str]]:
    """``name=value&...`` pairs, as ``parse_qsl(text, keep_blank_values=True)`` reads them.

    Fields that need no decoding (no ``%`` or ``+``) are taken as they are:
    ``parse_qsl`` unquotes every name and value, a third of a form call's CPU.
    """
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name, value = unquote_plus(name), unquote_plus(value)
        pairs.append((name, value))
    return pairs


def _compile(path: str) -> str:
    out, last = [], 0
    for match in _SEGMENT.finditer(path):
        out.append(re.escape(path[last : match.start()]))
        out.append(f"(?P<{match['name']}>{match['pattern'] or '[^/]+'})")
        last = match.end()
    out.append(re.escape(path[last:]))
    return "".join(out)


class _Connection(asyncio.Protocol, Generic[S]):
    """One client connection: requests parsed as they arrive, answered one at a time in order."""

    def __init__(self, server: Server[S]) -> None:
        self._server = server
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._expects = False
        self._body: list[bytes] = []
        self._size = 0
        self._too_large = False
        self._pending: deque[tuple[Request[S], bool]] = deque()
        self._busy = False
        self._paused = False
        self._closing = False

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's: a cast, not a check
        self._transport = cast(asyncio.Transport, transport)
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._pending.clear()
        self._server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(HTTPBadRequest(text="protocol upgrades are not supported"))
        except httptools.HttpParserError as exc:
            if self._too_large:
                self._refuse(Response(status=413, text=f"request body over {MAX_BODY} bytes"))
            else:
                self._refuse(HTTPBadRequest(text=f"bad request: {exc}"))

    # -- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._expects = False
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # Decoded only if the handler reads the headers.
        self._headers.append((name, value))
        if len(name) == 6 and name.lower() == b"expect":
            self._expects = value.strip().lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        if self._expects and self._parser.get_http_version() == "1.1":
            assert self._transport is not None
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            self._too_large = True
            raise httptools.HttpParserError("body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._closing:
            return
        url = self._url
        if url.startswith(b"/"):  # origin form, as every client but a proxy sends
            raw, _, query_b = url.partition(b"#")[0].partition(b"?")
        else:  # absolute form: http://host/path?query
            parsed = httptools.parse_url(url)
            raw, query_b = parsed.path or b"/", parsed.query or b""
        raw_path = raw.decode("utf-8", "surrogateescape")
        path = unquote(raw_path) if "%" in raw_path else raw_path
        query = query_b.decode("utf-8", "surrogateescape")
        request = Request(
            self._server.state,
            self._transport,
            method=self._parser.get_method().decode("ascii"),
            path=path,
            query=query,
            headers=self._headers,
            body=b"".join(self._body),
        )
        self._pending.append((request, self._parser.should_keep_alive()))
        if len(self._pending) >= MAX_PIPELINED and self._transport is not None:
            self._transport.pause_reading()  # the client sends faster than it reads
            self._paused = True
        if not self._busy:
            self._next()

    # -- answering -----------------------------------------------------------------------

    def _next(self) -> None:
        """Answer the pending requests in order: at most one handler runs at a time."""
        while self._pending and not self._closing:
            request, keep_alive = self._pending.popleft()
            if self._paused and len(self._pending) < MAX_PIPELINED // 2:
                self._paused = False
                if self._transport is not None:
                    self._transport.resume_reading()
            found = self._server.router.resolve(request.method, request.path)
            if isinstance(found, Response):  # 404 or 405: answered at once
                if not self._write(found, request, keep_alive):
                    return
                continue
            handler, request.match_info = found
            self._busy = True
            task = asyncio.get_running_loop().create_task(handler(request))
            task.add_done_callback(partial(self._answer, request=request, keep_alive=keep_alive))
            return
        self._busy = False

    def _answer(self, done: asyncio.Task[Response], request: Request[S], keep_alive: bool) -> None:
        self._busy = False
        if done.cancelled():  # the server is closing
            return
        exc = done.exception()
        if exc is None:
            response = done.result()
        elif isinstance(exc, HTTPException):
            response = exc
        else:
            log.error("%s %s failed", request.method, request.path, exc_info=exc)
            response = Response(
                status=500, text="500: Internal Server Error", content_type="text/plain"
            )
        if self._write(response, request, keep_alive):
            self._next()

    def _write(self, response: Response, request: Request[S], keep_alive: bool) -> bool:
        """Send one reply; whether the connection stays open for the next request."""
        transport = self._transport
        if transport is None or transport.is_closing():  # reset by the handler, or gone
            self._closing = True
            return False
        transport.write(response.encode(head_only=request.method == "HEAD", keep_alive=keep_alive))
        if not keep_alive:
            self._closing = True
            transport.close()
            return False
        return True

    def _refuse(self, response: Response) -> None:
        """A request that cannot be parsed: answer it and close once what came before is sent."""
        self._closing = True
        self._pending.clear()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(response.encode(keep_alive=False))
            self._transport.close()

    def close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.close()


class Server(Generic[S]):
    """Routes requests to handlers that share ``state``; ``start`` listens, ``close`` stops."""

    def __init__(self, router: Router[S], state: S) -> None:
        self.router = router
        self.state = state
        self.connections: set[_Connection[S]] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int, backlog: int = 1024) -> int:
        """Listen on ``host:port`` (0: a free port); the port listened on."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, backlog=backlog
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
