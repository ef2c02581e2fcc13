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

import redis

from legacy_adapter.ports import DB_UNAVAILABLE, LegacyPorts
from legacy_adapter.vyked import HTTPService, Request, Response, get, post
from payments.api import ApiRequest, Context, Route, handle, health_flow, routes
from payments.config import ServiceSettings
from payments.effects import run_sync
from payments.flows.reconcile import reconcile_once
from payments.models import encode_json, error_body
from serving.metrics import Metrics, render

log = logging.getLogger("legacy")

JSON = "application/json"
_ROUTES: dict[str, Route] = {r.name: r for r in routes()}


class PaymentService(HTTPService):
    """``PaymentService`` v1: the contract of ``openapi.yaml``, blocking I/O."""

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

    def _serve(self, name: str, request: Request) -> Response:
        route = _ROUTES[name]
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
            self.metrics.request_served(name, request.method, status, time.perf_counter() - started)
        return Response(
            status=result.status, body=result.body, headers=result.headers, content_type=JSON
        )

    @post(path="/v1/payments")
    def create_payment(self, request: Request) -> Response:
        return self._serve("create_payment", request)

    @get(path="/v1/payments")
    def list_payments(self, request: Request) -> Response:
        return self._serve("list_payments", request)

    @get(path="/v1/payments/{payment_id}")
    def get_payment(self, request: Request) -> Response:
        return self._serve("get_payment", request)

    @post(path="/v1/payments/{payment_id}/confirm")
    def confirm_payment(self, request: Request) -> Response:
        return self._serve("confirm_payment", request)

    @post(path="/v1/payments/{payment_id}/sync")
    def sync_payment(self, request: Request) -> Response:
        return self._serve("sync_payment", request)

    @post(path="/v1/payments/{payment_id}/refunds")
    def create_refund(self, request: Request) -> Response:
        return self._serve("create_refund", request)

    @get(path="/v1/refunds/{refund_id}")
    def get_refund(self, request: Request) -> Response:
        return self._serve("get_refund", request)

    @post(path="/v1/webhooks/juspay")
    def webhook_juspay(self, request: Request) -> Response:
        return self._serve("webhook_juspay", request)

    @post(path="/v1/webhooks/paytm")
    def webhook_paytm(self, request: Request) -> Response:
        return self._serve("webhook_paytm", request)

    @get(path="/health")
    def health(self, request: Request) -> Response:
        report = {"status": "ok", "db": "ok", "redis": "ok"}
        try:
            run_sync(health_flow(), self.ports)
        except Exception:
            report["db"] = "unavailable"
        try:
            self.ports.cache.ping()
        except (redis.RedisError, OSError):
            report["redis"] = "unavailable"
        ok = report["db"] == "ok" and report["redis"] == "ok"
        report["status"] = "ok" if ok else "degraded"
        return Response(status=200 if ok else 503, body=encode_json(report), content_type=JSON)

    @get(path="/metrics")
    def metrics_endpoint(self, request: Request) -> Response:
        stats = self.ports.pool.get_stats()
        self.metrics.db_pool_size.set(stats.get("pool_size", 0))
        self.metrics.db_pool_in_use.set(stats.get("pool_size", 0) - stats.get("pool_available", 0))
        body, content_type = render(self.metrics)
        return Response(body=body, headers={"Content-Type": content_type})
