"""Prometheus metrics of one service worker process (same names in both services)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
            "paybench_db_pool_in_use", "Database connections in use", registry=self.registry
        )
        self.db_pool_size = Gauge(
            "paybench_db_pool_size", "Database connections open", registry=self.registry
        )
        self.cache_lookups = Counter(
            "paybench_cache_lookups", "Payment cache lookups", ["result"], registry=self.registry
        )
        self.cache_errors = Counter(
            "paybench_cache_errors", "Cache operations that failed", registry=self.registry
        )
        self.service = service
