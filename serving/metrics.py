"""Prometheus metrics of a service (same names in both services).

Both services run several gunicorn worker processes, and a scrape reaches
one of them. When ``PROMETHEUS_MULTIPROC_DIR`` is set (the ``serve`` launcher
sets it before forking), every worker writes its values there and
``render`` sums counters and histograms over all workers, so ``/metrics``
describes the whole service; the pool gauges are reported per worker pid.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)


class Metrics:
    """One registry per worker; ``GET /metrics`` renders it in Prometheus text format."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "paybench_http_requests",
            "HTTP requests served, by route and status code",
            ["service", "route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "paybench_http_request_seconds",
            "Request latency by route",
            ["service", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.gateway_calls = Counter(
            "paybench_gateway_calls",
            "Gateway calls by gateway, kind and outcome (HTTP status or transport error)",
            ["gateway", "kind", "outcome"],
            registry=self.registry,
        )
        self.gateway_latency = Histogram(
            "paybench_gateway_call_seconds",
            "Gateway call latency",
            ["gateway", "kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.db_pool_in_use = Gauge(
            "paybench_db_pool_in_use", "Database connections in use (per worker)",
            registry=self.registry, multiprocess_mode="liveall",
        )
        self.db_pool_size = Gauge(
            "paybench_db_pool_size", "Database connections open (per worker)",
            registry=self.registry, multiprocess_mode="liveall",
        )
        self.cache_lookups = Counter(
            "paybench_cache_lookups", "Payment cache lookups", ["result"], registry=self.registry
        )
        self.cache_errors = Counter(
            "paybench_cache_errors", "Cache operations that failed", registry=self.registry
        )
        self.service = service
        # Labelled children, looked up once: ``labels()`` takes a lock and builds
        # its key on every call, twice per request and twice per gateway call.
        self._served: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._calls: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def request_served(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request of ``route`` and observe its latency."""
        children = self._served.get((route, method, status))
        if children is None:
            children = (
                self.requests.labels(self.service, route, method, str(status)),
                self.latency.labels(self.service, route),
            )
            self._served[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def gateway_call(self, gateway: str, kind: str, outcome: str, seconds: float) -> None:
        """Count one gateway call by outcome and observe its latency."""
        children = self._calls.get((gateway, kind, outcome))
        if children is None:
            children = (
                self.gateway_calls.labels(gateway, kind, outcome),
                self.gateway_latency.labels(gateway, kind),
            )
            self._calls[(gateway, kind, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)


def render(metrics: Metrics) -> tuple[bytes, str]:
    """The Prometheus text of the whole service (all workers when multiprocess)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST
