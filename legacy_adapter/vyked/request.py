"""The request object handed to handlers, built lazily from the WSGI environ.

Attribute names follow what Vyked handlers used on aiohttp's request
(``method``, ``path``, ``match_info``, ``GET``, ``headers``, ``json()`` ...).
Everything beyond method, path and match info is parsed on first use, so a
handler that only reads a path parameter pays for nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

from .errors import HTTPError
from .structures import Headers, MultiDict

T = TypeVar("T")

# HTTPServiceClient adds these to every call; servers ignore them.
VYKED_QUERY_PARAMS = frozenset({"service", "version", "app"})

# Methods whose body may carry required params (Vyked itself only looked at the query).
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_FORM_TYPE = "application/x-www-form-urlencoded"
_UNSET: Any = object()


class Request:
    """One HTTP request; read-only for handlers."""

    __slots__ = (
        "_body",
        "_body_params",
        "_client_max_size",
        "_environ",
        "_headers",
        "_json",
        "_query",
        "_vyked_params",
        "match_info",
        "method",
        "path",
        "request_id",
    )

    def __init__(
        self,
        environ: Mapping[str, Any],
        *,
        method: str,
        path: str,
        match_info: dict[str, str],
        request_id: str,
        client_max_size: int,
    ) -> None:
        self._environ = environ
        self.method = method
        self.path = path
        self.match_info = match_info
        self.request_id = request_id
        self._client_max_size = client_max_size
        self._query: MultiDict | None = None
        self._vyked_params: dict[str, str] | None = None
        self._headers: Headers | None = None
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._body_params: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"

    @property
    def environ(self) -> Mapping[str, Any]:
        """The raw WSGI environ."""
        return self._environ

    @property
    def query_string(self) -> str:
        """The raw query string, Vyked's own parameters included."""
        return str(self._environ.get("QUERY_STRING", ""))

    def _parse_query(self) -> MultiDict:
        everything = MultiDict(parse_qsl(self.query_string, keep_blank_values=True))
        self._vyked_params = {
            name: everything[name] for name in VYKED_QUERY_PARAMS if name in everything
        }
        self._query = everything.without(VYKED_QUERY_PARAMS)
        return self._query

    @property
    def query(self) -> MultiDict:
        """Query parameters without ``service``, ``version`` and ``app``."""
        return self._query if self._query is not None else self._parse_query()

    @property
    def GET(self) -> MultiDict:  # the aiohttp 0.x name Vyked handlers used
        """Alias of :attr:`query`."""
        return self.query

    @property
    def vyked_params(self) -> dict[str, str]:
        """The caller's ``service``/``version``/``app`` query parameters, if sent."""
        if self._vyked_params is None:
            self._parse_query()
        assert self._vyked_params is not None
        return self._vyked_params

    @property
    def headers(self) -> Headers:
        """Request headers, case-insensitive."""
        if self._headers is None:
            env = self._environ
            pairs = [
                (key[5:].replace("_", "-").title(), str(value))
                for key, value in env.items()
                if key.startswith("HTTP_")
            ]
            if env.get("CONTENT_TYPE"):
                pairs.append(("Content-Type", str(env["CONTENT_TYPE"])))
            if env.get("CONTENT_LENGTH"):
                pairs.append(("Content-Length", str(env["CONTENT_LENGTH"])))
            self._headers = Headers(pairs)
        return self._headers

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` when absent)."""
        raw = str(self._environ.get("CONTENT_TYPE", ""))
        return raw.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of the content type, if any."""
        for part in str(self._environ.get("CONTENT_TYPE", "")).split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip('"') or None
        return None

    @property
    def remote(self) -> str | None:
        """The peer address as the server saw it."""
        value = self._environ.get("REMOTE_ADDR")
        return str(value) if value else None

    @property
    def host(self) -> str:
        """The Host header, or the server name and port."""
        value = self._environ.get("HTTP_HOST")
        if value:
            return str(value)
        return f"{self._environ.get('SERVER_NAME', '')}:{self._environ.get('SERVER_PORT', '')}"

    @property
    def body(self) -> bytes:
        """The whole request body (read once, then cached)."""
        if self._body is None:
            self._body = self._read_body()
        return self._body

    def _read_body(self) -> bytes:
        stream = self._environ.get("wsgi.input")
        if stream is None:
            return b""
        length_text = self._environ.get("CONTENT_LENGTH") or ""
        if length_text:
            try:
                length = int(length_text)
            except ValueError:
                raise HTTPError(400) from None
            if length > self._client_max_size:
                raise HTTPError(413)
            return bytes(stream.read(length)) if length > 0 else b""
        if "chunked" in str(self._environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
            # gunicorn de-chunks wsgi.input; read one byte past the limit to detect excess.
            data = bytes(stream.read(self._client_max_size + 1))
            if len(data) > self._client_max_size:
                raise HTTPError(413)
            return data
        return b""

    def read(self) -> bytes:
        """The body as bytes."""
        return self.body

    def text(self) -> str:
        """The body decoded with its charset (UTF-8 by default)."""
        return self.body.decode(self.charset or "utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not JSON)."""
        if self._json is _UNSET:
            self._json = json.loads(self.body) if self.body else None
        return self._json

    def post(self) -> MultiDict:
        """The body parsed as an urlencoded form (empty for other content types)."""
        if self.content_type != _FORM_TYPE:
            return MultiDict()
        return MultiDict(parse_qsl(self.text(), keep_blank_values=True))

    @property
    def POST(self) -> MultiDict:  # the aiohttp 0.x name Vyked handlers used
        """Alias of :meth:`post`."""
        return self.post()

    def body_params(self) -> Mapping[str, Any]:
        """Top-level fields of a JSON object or form body; empty for anything else."""
        if self._body_params is None:
            params: Mapping[str, Any] = {}
            if self.content_type == _FORM_TYPE:
                params = self.post()
            elif self.body:
                try:
                    parsed = self.json()
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    params = parsed
            self._body_params = params
        return self._body_params

    def has_param(self, name: str) -> bool:
        """Whether ``name`` is given in the query (or, for POST-like methods, the body)."""
        if name in self.query:
            return True
        return self.method in BODY_METHODS and name in self.body_params()


class Ready(Generic[T]):
    """A finished result that ``yield from`` evaluates to without suspending."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def __iter__(self) -> Generator[Any, None, T]:
        yield from ()
        return self._value


class CoroutineStyleRequest:
    """The request as seen by a Vyked generator handler (``body = yield from request.json()``).

    Vyked drove every handler as an asyncio coroutine, so handlers that read
    the body wrote ``yield from request.json()``. The shim hands such
    handlers this view, whose body readers return :class:`Ready` results, and
    drives the generator to completion without an event loop.
    """

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)

    def read(self) -> Ready[bytes]:
        """The body as bytes."""
        return Ready(self._request.read())

    def text(self) -> Ready[str]:
        """The body as text."""
        return Ready(self._request.text())

    def json(self) -> Ready[Any]:
        """The body parsed as JSON."""
        return Ready(self._request.json())

    def post(self) -> Ready[MultiDict]:
        """The body parsed as a form."""
        return Ready(self._request.post())
