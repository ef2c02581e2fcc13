"""Route decorators, path patterns and the router."""

from __future__ import annotations

from typing import Any

import pytest

from legacy_adapter.vyked import (
    INTERNAL_PREFIX,
    ConfigurationError,
    HTTPService,
    Request,
    Response,
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
)
from legacy_adapter.vyked.routing import ROUTES_ATTR, Router, RouteSpec, compile_path


def _ok(request: Request) -> Response:
    return Response()


def _specs(func: Any) -> tuple[RouteSpec, ...]:
    specs: tuple[RouteSpec, ...] = getattr(func, ROUTES_ATTR)
    return specs


def test_each_decorator_records_its_method() -> None:
    """get/post/put/delete/patch/head/options record the upper-case HTTP method."""
    decorators = {
        "GET": get, "POST": post, "PUT": put, "DELETE": delete,
        "PATCH": patch, "HEAD": head, "OPTIONS": options,
    }  # fmt: skip
    for method, decorator in decorators.items():

        @decorator(path="/x")
        def handler(self: Any, request: Request) -> Response:
            return Response()

        assert _specs(handler)[0].method == method


def test_decorator_normalises_paths_and_required_params() -> None:
    """A single path or param becomes a tuple; is_internal prefixes every path."""

    @get(path=["/a", "/b/{id}"], required_params="q", is_internal=True)
    def handler(self: Any, request: Request) -> Response:
        return Response()

    spec = _specs(handler)[0]
    assert spec.paths == (INTERNAL_PREFIX + "/a", INTERNAL_PREFIX + "/b/{id}")
    assert spec.required_params == ("q",)


def test_stacked_decorators_register_both_routes() -> None:
    """A handler decorated twice is served for both methods."""

    class Svc(HTTPService):
        @get(path="/both")
        @post(path="/both")
        def both(self, request: Request) -> Response:
            return Response(text=request.method)

    methods = sorted(spec.method for spec, _ in Svc("svc", 1).endpoints())
    assert methods == ["GET", "POST"]


def test_async_handler_is_rejected() -> None:
    """An ``async def`` handler cannot run in a blocking worker and fails at definition."""
    with pytest.raises(ConfigurationError, match="async handlers"):

        @get(path="/x")
        async def handler(self: Any, request: Request) -> Response:
            return Response()


def test_compile_path_static_and_params() -> None:
    """Static paths need no regex; ``{name}`` stops at '/', ``{name:re}`` uses the regex."""
    assert compile_path("/ping") is None
    pattern = compile_path("/users/{username}/cards/{card_id:[0-9]+}")
    assert pattern is not None
    match = pattern.fullmatch("/users/ann.b/cards/42")
    assert match is not None
    assert match.groupdict() == {"username": "ann.b", "card_id": "42"}
    assert pattern.fullmatch("/users/ann/cards/x1") is None
    assert pattern.fullmatch("/users/a/b/cards/1") is None


@pytest.mark.parametrize("bad", ["users", "/users/{", "/users/}x", "/a/{b}/{", "/x/{id:[}"])
def test_compile_path_rejects_malformed(bad: str) -> None:
    """Malformed patterns fail at start-up with ConfigurationError."""
    with pytest.raises(ConfigurationError):
        compile_path(bad)


def test_router_resolves_static_before_dynamic_and_by_method() -> None:
    """Static routes win over patterns; methods are separate tables."""
    router = Router()
    router.add("GET", "/users/{name}", _ok)
    router.add("GET", "/users/me", _ok)
    router.add("POST", "/users", _ok)
    static = router.resolve("GET", "/users/me")
    assert static is not None
    assert static[0].pattern == "/users/me"
    assert static[1] == {}
    dynamic = router.resolve("GET", "/users/ann")
    assert dynamic is not None
    assert dynamic[1] == {"name": "ann"}
    assert router.resolve("POST", "/users/ann") is None
    assert router.resolve("GET", "/users/ann/") is None
    assert router.allowed_methods("/users") == ["POST"]
    assert router.allowed_methods("/nowhere") == []


def test_router_rejects_duplicates() -> None:
    """Two routes with the same method and pattern are a configuration error."""
    router = Router()
    router.add("GET", "/x", _ok)
    with pytest.raises(ConfigurationError, match="duplicate"):
        router.add("get", "/x", _ok)


def test_endpoints_follow_definition_order_and_overrides() -> None:
    """Handlers are collected in definition order; a subclass can drop a route."""

    class Base(HTTPService):
        @get(path="/one")
        def one(self, request: Request) -> Response:
            return Response()

        @get(path="/two")
        def two(self, request: Request) -> Response:
            return Response()

    class Child(Base):
        def two(self, request: Request) -> Response:  # undecorated: no longer a route
            return Response()

        @get(path="/three")
        def three(self, request: Request) -> Response:
            return Response()

    assert [spec.paths[0] for spec, _ in Base("b", 1).endpoints()] == ["/one", "/two"]
    assert [spec.paths[0] for spec, _ in Child("c", 1).endpoints()] == ["/one", "/three"]


def test_service_name_and_version() -> None:
    """The service name is lower-cased and the version is a string, as in Vyked."""
    svc = HTTPService("PaymentService", 3, "127.0.0.1", 4501)
    assert (svc.name, svc.version) == ("paymentservice", "3")
    assert svc.socket_address == ("127.0.0.1", 4501)
    assert svc.is_for_me("paymentservice", "3")
