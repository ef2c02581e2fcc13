"""The operations side of every service, declared once: its routes, /health, /metrics, figures.

Beside the contract (``payments.api.routes``) each service answers ``GET /ping``
and ``GET /_stats`` (Vyked's, also under Vyked's internal prefix), ``GET /health``
and ``GET /metrics``. This module holds their paths and names, the /health answer
(checked with blocking or awaited I/O, as ``payments.effects`` drives flows both
ways), the /metrics scrape, and what a finished request adds to the figures. A
service only adapts these to its framework. (The Vyked shim serves /ping and
/_stats of the legacy service itself, as Vyked did.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import redis

from payments.api import health_flow
from payments.effects import AsyncPorts, Response, SyncPorts, run_async, run_sync
from payments.models import encode_json
from serving.metrics import Metrics, render
from serving.stats import Aggregator

INTERNAL_PREFIX = "/__onemg-internal__"  # where Vyked's production fork served its own routes
UNMATCHED = "unmatched"  # the metrics label of a request no route matched


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An operations route (a ``GET``)."""

    kind: Literal["ping", "stats", "health", "metrics"]
    path: str
    name: str  # the route's name, and its label in the request metrics


HEALTH = Endpoint("health", "/health", "health")
METRICS = Endpoint("metrics", "/metrics", "metrics")
ENDPOINTS = (
    Endpoint("ping", "/ping", "ping"),
    Endpoint("stats", "/_stats", "stats"),
    Endpoint("ping", INTERNAL_PREFIX + "/ping", "internal-ping"),
    Endpoint("stats", INTERNAL_PREFIX + "/_stats", "internal-stats"),
    HEALTH,
    METRICS,
)
# Vyked counted neither its own /ping and /_stats nor unmatched paths in /_stats.
VYKED_UNCOUNTED = frozenset(e.name for e in ENDPOINTS if e.kind in ("ping", "stats"))


def request_served(
    metrics: Metrics | None,
    stats: Aggregator | None,
    name: str,
    method: str,
    *,
    pattern: str | None,
    status: int,
    seconds: float,
) -> None:
    """Add one finished request to the figures.

    ``metrics`` (Prometheus, None while a worker has none yet): every request
    but a scrape of /metrics. ``stats`` (Vyked's /_stats, keyed by method and
    ``pattern``; None where the framework keeps them): matched requests
    (``pattern`` given) except Vyked's own endpoints.
    """
    if metrics is not None and name != METRICS.name:
        metrics.request_served(name, method, status, seconds)
    if stats is not None and pattern is not None and name not in VYKED_UNCOUNTED:
        stats.update(f"{method} {pattern}", str(status), seconds * 1000.0, status < 500)


def health_answer(db_ok: bool, redis_ok: bool) -> Response:
    """``{"status", "db", "redis"}`` (JSON): 200 when both are up, otherwise 503 ``degraded``."""
    ok = db_ok and redis_ok
    report = {
        "status": "ok" if ok else "degraded",
        "db": "ok" if db_ok else "unavailable",
        "redis": "ok" if redis_ok else "unavailable",
    }
    return Response(status=200 if ok else 503, body=encode_json(report))


def check_health(ports: SyncPorts, ping_cache: Callable[[], object]) -> Response:
    """/health with blocking I/O: the database through the ports, then the cache."""
    try:
        run_sync(health_flow(), ports)
    except Exception:  # noqa: BLE001 - whatever the failure, /health reports the database down
        db_ok = False
    else:
        db_ok = True
    try:
        ping_cache()
    except (redis.RedisError, OSError):
        redis_ok = False
    else:
        redis_ok = True
    return health_answer(db_ok, redis_ok)


async def check_health_async(
    ports: AsyncPorts, ping_cache: Callable[[], Awaitable[object]]
) -> Response:
    """/health with awaited I/O: the database through the ports, then the cache."""
    try:
        await run_async(health_flow(), ports)
    except Exception:  # noqa: BLE001 - whatever the failure, /health reports the database down
        db_ok = False
    else:
        db_ok = True
    try:
        await ping_cache()
    except (redis.RedisError, OSError):  # redis.asyncio raises the same classes
        redis_ok = False
    else:
        redis_ok = True
    return health_answer(db_ok, redis_ok)


def scrape(metrics: Metrics, pool_size: int, pool_idle: int) -> tuple[bytes, str]:
    """The /metrics body and content type, with this worker's database pool figures set."""
    metrics.db_pool_size.set(pool_size)
    metrics.db_pool_in_use.set(pool_size - pool_idle)
    return render(metrics)
