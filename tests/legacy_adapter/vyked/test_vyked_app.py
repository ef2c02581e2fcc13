"""Framework behaviour of the WSGI application, in process (httpx's WSGI transport)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from vyked_sample_app import SampleService

from legacy_adapter.vyked import (
    INTERNAL_PREFIX,
    CoroutineStyleRequest,
    HTTPError,
    HTTPService,
    Request,
    Response,
    WSGIApplication,
    get,
    json_response,
    post,
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An httpx client calling a fresh sample application in process (fresh /_stats)."""
    transport = httpx.WSGITransport(app=WSGIApplication(SampleService()))
    with httpx.Client(transport=transport, base_url="http://sample") as c:
        yield c


def _stats(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/_stats")
    assert answer.status_code == 200
    data: dict[str, Any] = answer.json()
    return data


def test_path_params_reach_the_handler(client: httpx.Client) -> None:
    """``{username}`` is in ``request.match_info``."""
    answer = client.get("/users/ann")
    assert answer.status_code == 200
    assert answer.json() == {"username": "ann"}


def test_regex_params_and_multiple_paths(client: httpx.Client) -> None:
    """A handler serves each of its paths; a ``{id:[0-9]+}`` segment rejects non-digits."""
    assert client.get("/items/7").json() == {"item_id": "7"}
    assert client.get("/things/8").json() == {"item_id": "8"}
    assert client.get("/items/x").status_code == 404


def test_missing_required_params_body_is_exact(client: httpx.Client) -> None:
    """Missing params give 400 with Vyked's exact bytes, listing them in declared order."""
    answer = client.get("/search")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == b'{"error": "Required params q,limit not found"}'
    one_missing = client.get("/search", params={"limit": "5"})
    assert one_missing.content == b'{"error": "Required params q not found"}'


def test_required_params_present_in_query(client: httpx.Client) -> None:
    """With every param in the query the handler runs; empty values count as present."""
    answer = client.get("/search", params={"q": "", "limit": "5"})
    assert answer.status_code == 200
    assert answer.json()["query"] == {"q": "", "limit": "5"}


def test_required_params_from_json_and_form_body_on_post(client: httpx.Client) -> None:
    """For POST, required params may come from a JSON object body or a form body."""
    as_json = client.post("/transfers", json={"amount": 100, "currency": "INR"})
    assert as_json.status_code == 201
    assert as_json.json() == {"received": {"amount": 100, "currency": "INR"}}
    as_form = client.post("/transfers", data={"amount": "100", "currency": "INR"})
    assert as_form.status_code == 201
    mixed = client.post("/transfers", params={"currency": "INR"}, json={"amount": 1})
    assert mixed.status_code == 201
    bad = client.post("/transfers", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert bad.content == b'{"error": "Required params amount,currency not found"}'
    not_json = client.post("/transfers", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400


def test_get_does_not_read_required_params_from_a_body(client: httpx.Client) -> None:
    """For GET only the query string counts, as in Vyked."""
    answer = client.request("GET", "/search", json={"q": "x", "limit": "1"})
    assert answer.status_code == 400


def test_vyked_query_params_are_ignored(client: httpx.Client) -> None:
    """``service``, ``version`` and ``app`` are stripped from ``request.query``."""
    params = {"q": "x", "limit": "1", "service": "sampleservice", "version": "2", "app": "web"}
    answer = client.get("/search", params=params)
    assert answer.status_code == 200
    body = answer.json()
    assert body["query"] == {"q": "x", "limit": "1"}
    assert body["vyked"] == {"service": "sampleservice", "version": "2", "app": "web"}
    missing = client.get("/search", params={"service": "s", "version": "1"})
    assert missing.content == b'{"error": "Required params q,limit not found"}'


@pytest.mark.parametrize("prefix", ["", INTERNAL_PREFIX])
def test_ping_is_empty_200(client: httpx.Client, prefix: str) -> None:
    """``GET /ping`` answers 200 with an empty body, at the root and under the prefix."""
    answer = client.get(prefix + "/ping", params={"service": "x", "version": "1"})
    assert answer.status_code == 200
    assert answer.content == b""


def test_stats_count_calls_per_endpoint(client: httpx.Client) -> None:
    """/_stats counts every handled request by endpoint pattern and status."""
    for name in ("a", "b", "c"):
        client.get(f"/users/{name}")
    client.get("/search")
    client.get("/boom")
    client.get("/ping")
    client.get("/nowhere")
    stats = _stats(client)
    assert set(stats) == {"count", "average", "success_count", "sub"}
    assert (stats["count"], stats["success_count"]) == (5, 3)
    endpoints = stats["sub"]["http"]["sub"]
    assert set(endpoints) == {"GET /users/{username}", "GET /search", "GET /boom"}
    users = endpoints["GET /users/{username}"]
    assert (users["count"], users["success_count"]) == (3, 3)
    assert users["sub"]["200"]["count"] == 3
    assert users["average"] >= 0
    assert endpoints["GET /search"]["sub"]["400"]["success_count"] == 0
    assert endpoints["GET /boom"]["sub"]["unhandled_exception"]["count"] == 1
    internal = client.get(INTERNAL_PREFIX + "/_stats").json()
    assert internal["count"] == 5


def test_request_id_is_echoed_when_given(client: httpx.Client) -> None:
    """A client's X-REQUEST-ID is used for the request and echoed."""
    answer = client.get("/echo-id", headers={"X-Request-Id": "req-123"})
    assert answer.headers["x-request-id"] == "req-123"
    assert answer.json() == {"request_id": "req-123", "current": "req-123"}


def test_request_id_is_generated_when_absent_or_unusable(client: httpx.Client) -> None:
    """Without a usable id, a uuid4 hex id is generated, distinct per request."""
    first = client.get("/echo-id").headers["x-request-id"]
    second = client.get("/echo-id").headers["x-request-id"]
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second
    spaced = client.get("/echo-id", headers={"X-Request-Id": "has space"})
    assert spaced.headers["x-request-id"] != "has space"
    assert len(spaced.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/boom"), ("GET", "/search"), ("DELETE", "/users/a")],
)
def test_request_id_is_set_on_error_responses(client: httpx.Client, method: str, path: str) -> None:
    """404, 500, 400 and 405 responses carry the request id too."""
    answer = client.request(method, path, headers={"X-Request-Id": "err-1"})
    assert answer.status_code >= 400
    assert answer.headers["x-request-id"] == "err-1"


def test_unknown_route_is_plain_text_404(client: httpx.Client) -> None:
    """An unknown path answers 404 ``404: Not Found`` in plain text."""
    answer = client.get("/no/such/route")
    assert answer.status_code == 404
    assert answer.content == b"404: Not Found"
    assert answer.headers["content-type"].startswith("text/plain")


def test_known_path_other_method_is_405(client: httpx.Client) -> None:
    """A path served for other methods answers 405 with Allow, as aiohttp did."""
    answer = client.put("/transfers")
    assert answer.status_code == 405
    assert answer.content == b"405: Method Not Allowed"
    assert answer.headers["allow"] == "POST"


def test_uncaught_exception_is_500_without_traceback(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler exception answers 500 with no detail and is logged with its traceback."""
    with caplog.at_level(logging.ERROR, logger="legacy_adapter.vyked"):
        answer = client.get("/boom", headers={"X-Request-Id": "boom-1"})
    assert answer.status_code == 500
    assert answer.content == b"500: Internal Server Error"
    assert b"secret" not in answer.content
    records = [r for r in caplog.records if r.name == "legacy_adapter.vyked"]
    assert any("boom-1" in r.getMessage() and r.exc_info for r in records)


def test_internal_route_is_only_under_prefix(client: httpx.Client) -> None:
    """``is_internal=True`` serves a route under /__onemg-internal__ only."""
    assert client.get(INTERNAL_PREFIX + "/accounts").json() == {"internal": True}
    assert client.get("/accounts").status_code == 404


def test_error_hook_maps_service_exceptions(client: httpx.Client) -> None:
    """Registered handlers map a service's exceptions to ``{"error", "code"}`` bodies."""
    conflict = client.get("/ledger/conflict")
    assert conflict.status_code == 409
    assert conflict.json() == {"error": "refund exceeds capture", "code": "refund_exceeds_capture"}
    unknown = client.get("/ledger/unknown")  # the most specific registered type wins
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no such account"}
    fall_through = client.get("/ledger/fall-through")  # hook returned None: default 500
    assert fall_through.status_code == 500


def test_vyked_service_exception_is_a_json_error(client: httpx.Client) -> None:
    """VykedServiceException answers its status with ``{"error", "code"}`` and counts as success."""
    answer = client.get("/ledger/other")
    assert answer.status_code == 422
    assert answer.content == b'{"error": "bad kind", "code": "bad_kind"}'
    assert _stats(client)["success_count"] == 1


class _Edge(HTTPService):
    def __init__(self) -> None:
        super().__init__("edge", 1, client_max_size=16, allow_cross_domain=True)

    @post(path="/legacy")
    def legacy(self, request: CoroutineStyleRequest) -> Any:
        data = yield from request.json()
        text = yield from request.text()
        return json_response({"data": data, "length": len(text)}, status=201)

    @get(path="/suspends")
    def suspends(self, request: Request) -> Any:
        yield "a future"
        return Response()

    @get(path="/not-a-response")
    def not_a_response(self, request: Request) -> Any:
        return {"a": 1}

    @get(path="/teapot")
    def teapot(self, request: Request) -> Response:
        raise HTTPError(418)

    @post(path="/body")
    def body(self, request: Request) -> Response:
        return Response(body=request.body)

    @get(path="/head-too")
    def head_too(self, request: Request) -> Response:
        return Response(text="hello")


@pytest.fixture
def edge() -> httpx.Client:
    """A client of a service exercising edge cases."""
    transport = httpx.WSGITransport(app=WSGIApplication(_Edge()))
    return httpx.Client(transport=transport, base_url="http://edge")


def test_generator_handler_with_yield_from_body(edge: httpx.Client) -> None:
    """A Vyked handler written ``data = yield from request.json()`` runs unchanged."""
    answer = edge.post("/legacy", json={"a": 1})
    assert answer.status_code == 201
    assert answer.json() == {"data": {"a": 1}, "length": 7}


def test_suspending_generator_and_bad_return_are_500(edge: httpx.Client) -> None:
    """A handler that really waits, or returns no Response, answers 500."""
    assert edge.get("/suspends").status_code == 500
    assert edge.get("/not-a-response").status_code == 500


def test_http_error_and_body_limit(edge: httpx.Client) -> None:
    """HTTPError answers ``<status>: <reason>``; a body over client_max_size answers 413."""
    teapot = edge.get("/teapot")
    assert (teapot.status_code, teapot.content) == (418, b"418: I'm a Teapot")
    assert edge.post("/body", content=b"x" * 16).content == b"x" * 16
    too_big = edge.post("/body", content=b"x" * 17)
    assert (too_big.status_code, too_big.content) == (413, b"413: Request Entity Too Large")


def test_cors_preflight_when_allowed(edge: httpx.Client) -> None:
    """With allow_cross_domain, every route answers OPTIONS with Vyked's CORS headers."""
    answer = edge.options("/legacy")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"


def test_json_response_and_stats_bytes_use_json_dumps(client: httpx.Client) -> None:
    """/_stats is encoded with json.dumps defaults, as Vyked encoded it."""
    client.get("/users/a")
    raw = client.get("/_stats").content
    assert raw == json.dumps(json.loads(raw)).encode()
