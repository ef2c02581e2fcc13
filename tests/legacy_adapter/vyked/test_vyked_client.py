"""HTTPServiceClient: Vyked call conventions, request-id propagation, results and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from vyked_sample_app import SampleService
from vyked_servers import start_gunicorn

from legacy_adapter.vyked import (
    ClientDisconnected,
    ClientNotFoundError,
    ClientTimeoutError,
    HTTPServiceClient,
    RequestException,
    ServiceResponse,
    WSGIApplication,
    get,
    post,
)
from legacy_adapter.vyked.context import reset_request_id, set_request_id


@pytest.fixture(scope="module")
def gunicorn_one_worker() -> Iterator[str]:
    """Base URL of the sample app under gunicorn with one sync worker."""
    base_url, stop = start_gunicorn("vyked_sample_app:create_app()", workers=1)
    yield base_url
    stop()


class _Recorder:
    """A MockTransport handler that remembers requests and answers a fixed response."""

    def __init__(self, response: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.response = response or httpx.Response(200, json={"ok": True})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.response


def _client(handler: Any, **kwargs: Any) -> HTTPServiceClient:
    return HTTPServiceClient(
        "PaymentService", 2, base_url="http://svc", transport=httpx.MockTransport(handler), **kwargs
    )


def test_every_call_carries_service_and_version() -> None:
    """``service`` (lower-cased) and ``version`` are appended; ``app`` when configured."""
    recorder = _Recorder()
    client = _client(recorder, app_name="checkout")
    client.request("GET", "/v1/payments", params={"order_id": "o1", "version": "spoofed"})
    query = dict(recorder.requests[0].url.params)
    assert query == {
        "order_id": "o1",
        "version": "2",
        "service": "paymentservice",
        "app": "checkout",
    }
    assert client.properties == ("paymentservice", "2")


def test_request_id_explicit_then_current_then_generated() -> None:
    """An explicit id wins, else the id of the request being handled, else a new one."""
    recorder = _Recorder()
    client = _client(recorder)
    client.request("GET", "/a", request_id="given")
    token = set_request_id("handling-1")
    try:
        client.request("GET", "/a")
    finally:
        reset_request_id(token)
    client.request("GET", "/a")
    ids = [r.headers["x-request-id"] for r in recorder.requests]
    assert ids[:2] == ["given", "handling-1"]
    assert len(ids[2]) == 32


def test_result_parses_json_text_and_empty() -> None:
    """``result()`` gives parsed JSON, text, or None for an empty body."""
    assert _client(_Recorder()).call("GET", "/a") == {"ok": True}
    text = _Recorder(httpx.Response(200, text="plain"))
    assert _client(text).call("GET", "/a") == "plain"
    empty = _Recorder(httpx.Response(200))
    assert _client(empty).call("GET", "/ping") is None


def test_error_status_raises_request_exception_with_vyked_fields() -> None:
    """An error status raises RequestException with status, error and code from the body."""
    body = {"error": "Payment not found", "code": "not_found"}
    with pytest.raises(RequestException) as caught:
        _client(_Recorder(httpx.Response(404, json=body))).call("GET", "/v1/payments/x")
    assert (caught.value.status, caught.value.error, caught.value.code) == (
        404,
        "Payment not found",
        "not_found",
    )
    with pytest.raises(RequestException) as plain:
        _client(_Recorder(httpx.Response(404, text="404: Not Found"))).call("GET", "/x")
    assert (plain.value.error, plain.value.code) == ("404: Not Found", None)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), ClientNotFoundError),
        (httpx.ReadTimeout("slow"), ClientTimeoutError),
        (httpx.RemoteProtocolError("garbage"), ClientDisconnected),
    ],
)
def test_transport_failures_map_to_client_exceptions(
    raised: Exception, expected: type[Exception]
) -> None:
    """httpx transport errors surface as Vyked's client exceptions."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise raised

    with pytest.raises(expected):
        _client(fail).request("GET", "/a")


class _IdentityClient(HTTPServiceClient):
    """A client written the Vyked way: decorated methods return ``locals()``."""

    @get()
    def user(self, username: str) -> Any:
        path = f"/users/{username}"
        params = {"verbose": "1"}
        return locals()

    @post()
    def create(self, username: str) -> Any:
        path = "/users"
        json = {"username": username}
        headers = {"X-Extra": "1"}
        return locals()


def test_decorated_client_methods_send_described_calls() -> None:
    """Decorated client methods send the call their ``locals()`` describe."""
    recorder = _Recorder()
    client = _IdentityClient(
        "IdentityService", 1, base_url="http://id", transport=httpx.MockTransport(recorder)
    )
    answer = client.user("ann")
    assert isinstance(answer, ServiceResponse)
    assert answer.result() == {"ok": True}
    client.create("bob")
    first, second = recorder.requests
    assert (first.method, first.url.path) == ("GET", "/users/ann")
    assert dict(first.url.params) == {"verbose": "1", "version": "1", "service": "identityservice"}
    assert (second.method, second.content, second.headers["x-extra"]) == (
        "POST",
        b'{"username":"bob"}',
        "1",
    )


def test_request_id_propagates_to_downstream_service() -> None:
    """A handler's outgoing call carries the id of the request it is handling."""
    downstream_app = WSGIApplication(SampleService())
    downstream = HTTPServiceClient(
        "SampleService",
        2,
        base_url="http://down",
        transport=httpx.WSGITransport(app=downstream_app),
    )
    upstream = WSGIApplication(SampleService(downstream=downstream))
    with httpx.Client(transport=httpx.WSGITransport(app=upstream), base_url="http://up") as c:
        answer = c.get("/relay", headers={"X-Request-Id": "trace-42"})
    assert answer.status_code == 200
    assert answer.json() == {"downstream": {"request_id": "trace-42", "current": "trace-42"}}


def test_client_against_gunicorn(gunicorn_one_worker: str) -> None:
    """Against a real gunicorn server: parsed results, Vyked errors, echoed request id."""
    with HTTPServiceClient("SampleService", 2, base_url=gunicorn_one_worker, timeout=5) as client:
        assert client.call("GET", "/users/ann") == {"username": "ann"}
        assert client.call("GET", "/search", params={"q": "x", "limit": 2})["query"] == {
            "q": "x",
            "limit": "2",
        }
        assert client.call("GET", "/ping") is None
        answer = client.request("GET", "/echo-id", request_id="real-1")
        assert (answer.request_id, answer.json()["request_id"]) == ("real-1", "real-1")
        with pytest.raises(RequestException) as caught:
            client.call("GET", "/search")
        assert caught.value.status == 400
        assert caught.value.error == "Required params q,limit not found"
        created = client.call("POST", "/transfers", json={"amount": 5, "currency": "INR"})
        assert created == {"received": {"amount": 5, "currency": "INR"}}


def test_client_timeout_against_gunicorn(gunicorn_one_worker: str) -> None:
    """A call slower than its timeout raises ClientTimeoutError."""
    with (
        HTTPServiceClient("SampleService", 2, base_url=gunicorn_one_worker) as client,
        pytest.raises(ClientTimeoutError),
    ):
        client.request("GET", "/sleep", params={"seconds": "0.5"}, timeout=0.1)
