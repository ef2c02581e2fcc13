"""A small service on the Vyked shim, used by the tests in process and under gunicorn."""

from __future__ import annotations

import os
import time

from legacy_adapter.vyked import (
    HTTPService,
    HTTPServiceClient,
    Request,
    Response,
    VykedServiceException,
    WSGIApplication,
    current_request_id,
    error_response,
    get,
    json_response,
    post,
)


class LedgerError(Exception):
    """A service's own exception, mapped by the error hook."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class UnknownAccount(LedgerError):
    """A more specific error that gets its own mapping."""


class SampleService(HTTPService):
    """Handlers covering every behaviour the tests check."""

    def __init__(self, downstream: HTTPServiceClient | None = None) -> None:
        super().__init__("SampleService", 2, "127.0.0.1", 0)
        self.downstream = downstream
        self.add_error_handler(LedgerError, self._ledger_error)
        self.add_error_handler(UnknownAccount, self._unknown_account)

    @staticmethod
    def _ledger_error(exc: LedgerError, request: Request) -> Response:
        return error_response(exc.message, status=exc.status, code=exc.code)

    @staticmethod
    def _unknown_account(exc: UnknownAccount, request: Request) -> Response | None:
        return None if exc.code == "fall_through" else error_response("no such account", status=404)

    @get(path="/users/{username}")
    def user(self, request: Request) -> Response:
        return json_response({"username": request.match_info["username"]})

    @get(path=["/items/{item_id:[0-9]+}", "/things/{item_id:[0-9]+}"])
    def item(self, request: Request) -> Response:
        return json_response({"item_id": request.match_info["item_id"]})

    @get(path="/search", required_params=["q", "limit"])
    def search(self, request: Request) -> Response:
        return json_response({"query": dict(request.query), "vyked": request.vyked_params})

    @post(path="/transfers", required_params=["amount", "currency"])
    def transfer(self, request: Request) -> Response:
        return json_response({"received": dict(request.body_params())}, status=201)

    @get(path="/echo-id")
    def echo_id(self, request: Request) -> Response:
        return json_response({"request_id": request.request_id, "current": current_request_id()})

    @get(path="/relay")
    def relay(self, request: Request) -> Response:
        assert self.downstream is not None
        return json_response({"downstream": self.downstream.call("GET", "/echo-id")})

    @get(path="/boom")
    def boom(self, request: Request) -> Response:
        raise RuntimeError("secret detail that must not leak")

    @get(path="/ledger/{kind}")
    def ledger(self, request: Request) -> Response:
        kind = request.match_info["kind"]
        if kind == "conflict":
            raise LedgerError("refund exceeds capture", "refund_exceeds_capture", 409)
        if kind == "unknown":
            raise UnknownAccount("x", "unknown_account", 404)
        if kind == "fall-through":
            raise UnknownAccount("x", "fall_through", 404)
        raise VykedServiceException("bad kind", status=422, code="bad_kind")

    @get(path="/accounts", is_internal=True)
    def internal_accounts(self, request: Request) -> Response:
        return json_response({"internal": True})

    @get(path="/sleep", required_params="seconds")
    def sleep(self, request: Request) -> Response:
        started = time.time()
        time.sleep(float(request.query["seconds"]))
        return json_response({"started": started, "ended": time.time(), "pid": os.getpid()})


def create_app() -> WSGIApplication:
    """The application gunicorn loads (``vyked_sample_app:create_app()``)."""
    return WSGIApplication(SampleService())
