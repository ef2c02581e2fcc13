"""The legacy payment service, written against Vyked's API on the shim.

Every handler blocks: it drives the shared flow from ``payments`` with
psycopg, redis and httpx calls, so a gunicorn sync worker serves one request
at a time, as the Vyked service did. Bodies, statuses and decisions come from
``payments`` and are therefore those of the engine.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from legacy_adapter.ports import DB_UNAVAILABLE, LegacyPorts
from legacy_adapter.vyked import HTTPService, Request, Response, delete, get, patch, post, put
from payments.api import ApiRequest, Context, Route, handle, routes
from payments.config import ServiceSettings
from payments.effects import Response as FlowResponse
from payments.effects import run_sync
from payments.flows.reconcile import reconcile_once
from payments.models import error_body
from serving.metrics import Metrics
from serving.operations import HEALTH, METRICS, check_health, request_served, scrape

log = logging.getLogger("legacy")

JSON = "application/json"
_DECORATORS = {"GET": get, "POST": post, "PUT": put, "PATCH": patch, "DELETE": delete}


def _contract_endpoint(route: Route) -> Callable[[PaymentService, Request], Response]:
    """A Vyked handler method for ``route``, decorated as one written by hand would be."""

    def endpoint(self: PaymentService, request: Request) -> Response:
        return self.serve(route, request)

    endpoint.__name__ = route.name
    endpoint.__qualname__ = f"PaymentService.{route.name}"
    return _DECORATORS[route.method](path=route.pattern)(endpoint)


def _contract_routes(cls: type[PaymentService]) -> type[PaymentService]:
    """Give the service a handler method per route of ``payments.api.routes()``."""
    for route in routes():
        setattr(cls, route.name, _contract_endpoint(route))
    return cls


@_contract_routes
class PaymentService(HTTPService):
    """``PaymentService`` v1: the contract of ``openapi.yaml``, blocking I/O.

    Its handler methods are the contract's routes (added by ``_contract_routes``
    from the one route table), ``health`` and ``metrics_endpoint``.
    """

    def __init__(self, settings: ServiceSettings, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__("PaymentService", "1", host, port)
        self.settings = settings
        self.metrics = Metrics("legacy")
        self.ports = LegacyPorts(settings, self.metrics)
        self.context = Context(settings)
        self._reconciler_stop = threading.Event()
        for exc_type in DB_UNAVAILABLE:
            self.add_error_handler(exc_type, self._database_unavailable)

    def start_reconciler(self) -> threading.Thread | None:
        """Run the reconciler every ``reconcile_interval_s`` in a daemon thread.

        The engine runs it as a task in each worker; here each sync worker
        gets a thread, so requests keep their one-at-a-time model and the
        reconciler's compare-and-set makes concurrent passes harmless.
        """
        interval = self.settings.reconcile_interval_s
        if interval <= 0:
            return None
        stop = self._reconciler_stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    report = run_sync(reconcile_once(self.context), self.ports)
                except Exception:
                    log.exception("reconcile pass failed")
                    continue
                if report.attempts_checked or report.refunds_checked:
                    log.info("reconciled", extra={"report": dataclasses.asdict(report)})

        thread = threading.Thread(target=loop, name="reconciler", daemon=True)
        thread.start()
        return thread

    def stop_reconciler(self) -> None:
        self._reconciler_stop.set()

    def _database_unavailable(self, exc: BaseException, request: Request) -> Response:
        log.warning("database unavailable", extra={"error": repr(exc)})
        return Response(
            status=503,
            body=error_body("database unavailable, retry later", "database_unavailable"),
            content_type=JSON,
        )

    def serve(self, route: Route, request: Request) -> Response:
        """Drive ``route``'s flow for ``request`` with this worker's blocking ports."""
        api_request = ApiRequest(
            method=request.method,
            path=request.path,
            params=request.match_info,
            query=dict(request.query.items()),
            authorization=request.headers.get("Authorization"),
            idempotency_key=request.headers.get("Idempotency-Key"),
            body=request.body,
            content_type=request.content_type,
            headers=request.headers,
        )
        started = time.perf_counter()
        status = 500
        try:
            result = run_sync(handle(self.context, route, api_request), self.ports)
            status = result.status
        except DB_UNAVAILABLE:
            status = 503
            raise
        finally:
            # /_stats are the Vyked shim's; /health and /metrics are not counted here
            request_served(
                self.metrics, None, route.name, request.method,
                pattern=None, status=status, seconds=time.perf_counter() - started,
            )  # fmt: skip
        return _answer(result)

    @get(path=HEALTH.path)
    def health(self, request: Request) -> Response:
        return _answer(check_health(self.ports, self.ports.cache.ping))

    @get(path=METRICS.path)
    def metrics_endpoint(self, request: Request) -> Response:
        stats = self.ports.pool.get_stats()
        body, content_type = scrape(
            self.metrics, stats.get("pool_size", 0), stats.get("pool_available", 0)
        )
        return Response(body=body, headers={"Content-Type": content_type})


def _answer(result: FlowResponse) -> Response:
    return Response(
        status=result.status, body=result.body, headers=result.headers, content_type=JSON
    )
