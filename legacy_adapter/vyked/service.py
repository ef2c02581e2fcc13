"""``HTTPService``: the base class a Vyked HTTP service subclasses.

Constructor, ``name``/``version`` and socket properties follow Vyked's
``HTTPService``; handlers are methods decorated with ``get``, ``post`` ...
(collected in definition order, base classes first). Registry and pub/sub
attributes are accepted and ignored: the shim serves one process, no registry.

The error hook: ``add_error_handler(ExcType, fn)`` maps a service's own
exceptions to responses; ``fn(exc, request)`` returns a :class:`Response`
(typically ``error_response(message, status=..., code=...)``) or None to let
the exception fall through to the default 500.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConfigurationError, VykedServiceError
from .identity import ServiceIdentity
from .request import CoroutineStyleRequest, Request
from .response import Dumps, Response
from .routing import HANDLER_ATTR, ROUTES_ATTR, Handler, RouteSpec

E = TypeVar("E", bound=BaseException)
ErrorHandler = Callable[[Any, Request], Response | None]

DEFAULT_CLIENT_MAX_SIZE = 1024**2  # aiohttp's default request body limit


def default_preflight_response(request: Request) -> Response:
    """Vyked's CORS preflight answer."""
    return Response(
        status=200,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE",
            "Access-Control-Allow-Headers": "accept, content-type",
        },
    )


def blocking_handler(func: Callable[[Any], Any]) -> Handler:
    """Adapt a handler so the app can call it as ``handler(request) -> Response``.

    Plain functions are used as they are. Generator functions (Vyked handlers
    that read the body with ``yield from request.json()``) get a request whose
    readers complete immediately and are run to their ``return``; one that
    really suspends (``yield from asyncio.sleep(1)``) cannot be served by a
    blocking worker and fails loudly.
    """
    if not inspect.isgeneratorfunction(func):
        return func

    def drive(request: Request) -> Response:
        steps = func(CoroutineStyleRequest(request))
        try:
            steps.send(None)
        except StopIteration as stop:
            result: Response = stop.value
            return result
        steps.close()
        raise VykedServiceError(
            f"{getattr(func, '__qualname__', func)!s} waited on asynchronous I/O; "
            "handlers must block instead"
        )

    return drive


class HTTPService(ServiceIdentity):
    """A Vyked HTTP service: subclass it and decorate handler methods."""

    def __init__(  # noqa: PLR0917 - Vyked's positional signature, kept for ported code
        self,
        service_name: str,
        service_version: str | int,
        host_ip: str | None = None,
        host_port: int | None = None,
        ssl_context: Any = None,
        allow_cross_domain: bool = False,
        preflight_response: Callable[[Request], Response] = default_preflight_response,
        *,
        client_max_size: int = DEFAULT_CLIENT_MAX_SIZE,
        json_dumps: Dumps = json.dumps,
    ) -> None:
        super().__init__(service_name, service_version)
        self._ip = host_ip
        self._port = host_port
        self._ssl_context = ssl_context
        self._allow_cross_domain = allow_cross_domain
        self._preflight_response = preflight_response
        self._node_id = uuid.uuid4().hex
        self._clients: list[Any] = []
        self._error_handlers: dict[type[BaseException], ErrorHandler] = {}
        self._handler_cache: dict[type[BaseException], ErrorHandler | None] = {}
        self.client_max_size = client_max_size
        self.json_dumps = json_dumps

    @property
    def socket_address(self) -> tuple[str | None, int | None]:
        """``(host_ip, host_port)`` given at construction."""
        return self._ip, self._port

    @property
    def host(self) -> str | None:
        """The address to bind."""
        return self._ip

    @property
    def port(self) -> int | None:
        """The port to bind."""
        return self._port

    @property
    def node_id(self) -> str:
        """A random id of this service instance."""
        return self._node_id

    @property
    def ssl_context(self) -> Any:
        """Accepted for compatibility; TLS is terminated in front of the shim."""
        return self._ssl_context

    @property
    def cross_domain_allowed(self) -> bool:
        """Whether every route also answers CORS preflight OPTIONS requests."""
        return self._allow_cross_domain

    @property
    def preflight_response(self) -> Callable[[Request], Response]:
        """The handler of CORS preflight requests."""
        return self._preflight_response

    @property
    def clients(self) -> list[Any]:
        """Service clients this service uses (kept for Vyked compatibility)."""
        return self._clients

    @clients.setter
    def clients(self, clients: list[Any]) -> None:
        self._clients = clients

    def is_for_me(self, service: str, version: str) -> bool:
        """Whether a call addressed to ``service``/``version`` targets this service."""
        return service == self._service_name and version == self._service_version

    def add_error_handler(
        self, exc_type: type[E], handler: Callable[[E, Request], Response | None]
    ) -> None:
        """Map exceptions of ``exc_type`` (and subclasses) raised by handlers to responses.

        The most specific registered type wins. ``handler`` returns None to
        fall back to the default handling (a 500 for unknown exceptions).
        """
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise ConfigurationError(f"not an exception type: {exc_type!r}")
        self._error_handlers[exc_type] = handler
        self._handler_cache.clear()

    def error_handler_for(self, exc: BaseException) -> ErrorHandler | None:
        """The registered handler for ``exc``'s most specific registered type, if any."""
        kind = type(exc)
        if kind not in self._handler_cache:
            self._handler_cache[kind] = next(
                (self._error_handlers[k] for k in kind.__mro__ if k in self._error_handlers),
                None,
            )
        return self._handler_cache[kind]

    def endpoints(self) -> list[tuple[RouteSpec, Handler]]:
        """Every decorated handler of this service, bound, in definition order."""
        seen: dict[str, Any] = {}
        for klass in reversed(type(self).__mro__):
            for attr_name, value in vars(klass).items():
                seen.pop(attr_name, None)  # a redefinition moves to its new position
                seen[attr_name] = value
        found: list[tuple[RouteSpec, Handler]] = []
        for value in seen.values():
            specs: tuple[RouteSpec, ...] = getattr(value, ROUTES_ATTR, ())
            if not specs:
                continue
            original = getattr(value, HANDLER_ATTR, value)
            bound = blocking_handler(original.__get__(self, type(self)))
            found.extend((spec, bound) for spec in specs)
        return found
