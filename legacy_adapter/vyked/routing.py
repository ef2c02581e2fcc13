"""Route decorators (Vyked's ``get``, ``post`` ...) and the request router.

A decorator only records a :class:`RouteSpec` on the function; the service
turns the specs into :class:`Route` objects once, at start-up. The router
keeps, per method, a dict of static paths (one lookup) and a short list of
precompiled patterns for paths with ``{param}`` segments, so resolving a
request costs a dict lookup and, for dynamic paths, a few regex matches.

On an :class:`~legacy_adapter.vyked.client.HTTPServiceClient` subclass the
same decorators turn a method returning ``locals()`` into an outgoing call,
as Vyked's did.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .client import HTTPServiceClient
from .errors import ConfigurationError
from .request import Request
from .response import Response

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Request], Response]

INTERNAL_PREFIX = "/__onemg-internal__"

ROUTES_ATTR = "__vyked_routes__"
HANDLER_ATTR = "__vyked_handler__"

_PARAM = re.compile(r"\{(?P<name>[A-Za-z_]\w*)(?::(?P<regex>(?:[^{}]|\{[^{}]*\})+))?\}")
_DEFAULT_PARAM_REGEX = "[^{}/]+"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What a decorator recorded: method, paths, required params."""

    method: str
    paths: tuple[str, ...]
    required_params: tuple[str, ...]
    timeout: float | None


def _route_decorator(
    method: str,
    path: str | Sequence[str] | None,
    required_params: str | Sequence[str] | None,
    timeout: float | None,
    is_internal: bool,
) -> Callable[[F], F]:
    raw_paths = [path] if isinstance(path, str) or path is None else list(path)
    paths = tuple((INTERNAL_PREFIX + (p or "/")) if is_internal else (p or "/") for p in raw_paths)
    if isinstance(required_params, str):
        required: tuple[str, ...] = (required_params,)
    else:
        required = tuple(required_params or ())
    spec = RouteSpec(method.upper(), paths, required, timeout)

    def decorate(func: F) -> F:
        original: Callable[..., Any] = getattr(func, HANDLER_ATTR, func)
        if inspect.iscoroutinefunction(original):
            raise ConfigurationError(
                f"{original.__qualname__}: async handlers are not supported; "
                "the shim runs blocking handlers"
            )

        @functools.wraps(original)
        def endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(self, HTTPServiceClient):
                return self.send_described(spec.method, original(self, *args, **kwargs))
            return original(self, *args, **kwargs)

        setattr(endpoint, HANDLER_ATTR, original)
        setattr(endpoint, ROUTES_ATTR, (*getattr(func, ROUTES_ATTR, ()), spec))
        return endpoint  # type: ignore[return-value]  # same call signature as func

    return decorate


def get(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route GET requests for ``path`` to the decorated handler."""
    return _route_decorator("GET", path, required_params, timeout, is_internal)


def head(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route HEAD requests for ``path`` to the decorated handler."""
    return _route_decorator("HEAD", path, required_params, timeout, is_internal)


def options(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route OPTIONS requests for ``path`` to the decorated handler."""
    return _route_decorator("OPTIONS", path, required_params, timeout, is_internal)


def patch(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route PATCH requests for ``path`` to the decorated handler."""
    return _route_decorator("PATCH", path, required_params, timeout, is_internal)


def post(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route POST requests for ``path`` to the decorated handler."""
    return _route_decorator("POST", path, required_params, timeout, is_internal)


def put(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route PUT requests for ``path`` to the decorated handler."""
    return _route_decorator("PUT", path, required_params, timeout, is_internal)


def delete(
    path: str | Sequence[str] | None = None,
    required_params: str | Sequence[str] | None = None,
    timeout: float | None = None,
    is_internal: bool = False,
) -> Callable[[F], F]:
    """Route DELETE requests for ``path`` to the decorated handler."""
    return _route_decorator("DELETE", path, required_params, timeout, is_internal)


def compile_path(path: str) -> re.Pattern[str] | None:
    """The regex for a path with ``{name}`` or ``{name:regex}`` segments; None if static."""
    if not path.startswith("/"):
        raise ConfigurationError(f"route path must start with '/': {path!r}")
    parts: list[str] = []
    end = 0
    for match in _PARAM.finditer(path):
        static = path[end : match.start()]
        if "{" in static or "}" in static:
            raise ConfigurationError(f"malformed route path: {path!r}")
        parts.append(re.escape(static))
        regex = match.group("regex") or _DEFAULT_PARAM_REGEX
        parts.append(f"(?P<{match.group('name')}>{regex})")
        end = match.end()
    if end == 0:
        if "{" in path or "}" in path:
            raise ConfigurationError(f"malformed route path: {path!r}")
        return None
    tail = path[end:]
    if "{" in tail or "}" in tail:
        raise ConfigurationError(f"malformed route path: {path!r}")
    parts.append(re.escape(tail))
    try:
        return re.compile("".join(parts))
    except re.error as exc:
        raise ConfigurationError(f"bad parameter regex in {path!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Route:
    """A resolved route: a bound blocking handler and what the app needs to run it."""

    method: str
    pattern: str
    handler: Handler
    required_params: tuple[str, ...]
    counted: bool  # framework routes (/ping, /_stats) stay out of /_stats
    regex: re.Pattern[str] | None

    @property
    def stats_key(self) -> str:
        """The /_stats key of this endpoint: ``"GET /users/{username}"``."""
        return f"{self.method} {self.pattern}"


class Router:
    """Resolves (method, path) to a route; static paths by dict, dynamic by regex."""

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: dict[str, list[Route]] = {}
        self._routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        required_params: tuple[str, ...] = (),
        *,
        counted: bool = True,
    ) -> Route:
        """Register a route; a second route for the same method and pattern is an error."""
        method = method.upper()
        if self.has(method, pattern):
            raise ConfigurationError(f"duplicate route {method} {pattern}")
        route = Route(method, pattern, handler, required_params, counted, compile_path(pattern))
        if route.regex is None:
            self._static.setdefault(method, {})[pattern] = route
        else:
            self._dynamic.setdefault(method, []).append(route)
        self._routes.append(route)
        return route

    def has(self, method: str, pattern: str) -> bool:
        """Whether a route with exactly this method and pattern exists."""
        return any(r.method == method.upper() and r.pattern == pattern for r in self._routes)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a request and its path parameters, or None."""
        static = self._static.get(method)
        if static is not None:
            route = static.get(path)
            if route is not None:
                return route, {}
        for route in self._dynamic.get(method, ()):
            assert route.regex is not None
            match = route.regex.fullmatch(path)
            if match is not None:
                return route, match.groupdict()
        return None

    def allowed_methods(self, path: str) -> list[str]:
        """Methods that have a route for ``path`` (for a 405's Allow header)."""
        methods = {method for method in self._static if path in self._static[method]}
        for method, routes in self._dynamic.items():
            if any(r.regex is not None and r.regex.fullmatch(path) for r in routes):
                methods.add(method)
        return sorted(methods)

    @property
    def routes(self) -> list[Route]:
        """Every route in registration order."""
        return list(self._routes)
