"""The legacy service's blocking I/O: psycopg, redis and httpx, one call at a time."""

from __future__ import annotations

import functools
import logging
import re
import time
from typing import Any

import httpx
import psycopg
import redis
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from payments.config import ServiceSettings
from payments.effects import CACHE_PUT_SCRIPT, CachePut, Query
from payments.gateways.base import GatewayReply, HttpRequest, HttpResponse, TransportError
from payments.metrics import Metrics

log = logging.getLogger("legacy.ports")

_PLACEHOLDER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=256)
def to_pyformat(statement: str) -> tuple[str, tuple[int, ...]]:
    """Rewrite asyncpg's ``$n`` placeholders for psycopg: (SQL, argument order)."""
    order: list[int] = []

    def repl(match: re.Match[str]) -> str:
        order.append(int(match.group(1)) - 1)
        return "%s"

    return _PLACEHOLDER.sub(repl, statement.replace("%", "%%")), tuple(order)


class LegacyPorts:
    """Executes flow effects with blocking calls; one instance per worker process."""

    def __init__(self, settings: ServiceSettings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self.pool = ConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=settings.db_pool_size,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "options": f"-c search_path={settings.db_schema}",
                "application_name": "paybench-legacy",
            },
            timeout=5.0,
            open=False,
        )
        # open without waiting: the service starts, and answers 503, while
        # PostgreSQL is down; the pool reconnects by itself.
        self.pool.open(wait=False)
        self.cache = redis.Redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._put = self.cache.register_script(CACHE_PUT_SCRIPT)
        self._prefix = settings.redis_prefix
        self.http_client = httpx.Client(
            base_url=settings.gateway_url,
            timeout=settings.gateway_timeout_s,
            limits=httpx.Limits(max_keepalive_connections=8),
        )

    def close(self) -> None:
        self.http_client.close()
        self.cache.close()
        self.pool.close()

    def query(self, q: Query) -> Any:
        statement, order = to_pyformat(q.sql)
        args = tuple(q.args[i] for i in order)
        with self.pool.connection() as conn:
            cur = conn.execute(statement, args)
            if q.fetch == "one":
                return cur.fetchone()
            if q.fetch == "all":
                return cur.fetchall()
            return None

    def cache_get(self, key: str) -> bytes | None:
        try:
            value: bytes | None = self.cache.get(self._prefix + key)  # type: ignore[assignment]
        except (redis.RedisError, OSError) as exc:
            self._metrics.cache_errors.inc()
            log.warning("cache read failed", extra={"error": str(exc)})
            return None
        self._metrics.cache_lookups.labels("hit" if value is not None else "miss").inc()
        return value

    def cache_put(self, effect: CachePut) -> None:
        try:
            self._put(
                keys=[self._prefix + effect.key], args=[effect.version, effect.body, effect.ttl_s]
            )
        except (redis.RedisError, OSError) as exc:
            self._metrics.cache_errors.inc()
            log.warning("cache write failed", extra={"error": str(exc)})

    def http(self, request: HttpRequest) -> GatewayReply:
        started = time.perf_counter()
        outcome = "ok"
        try:
            resp = self.http_client.request(
                request.method,
                request.path,
                headers=dict(request.headers),
                content=request.body or None,
            )
            outcome = str(resp.status_code)
            return HttpResponse(resp.status_code, dict(resp.headers), resp.content)
        except httpx.ConnectTimeout as exc:
            outcome = "connect"
            return TransportError("connect", ambiguous=False, detail=str(exc))
        except httpx.TimeoutException as exc:
            outcome = "timeout"
            return TransportError("timeout", ambiguous=True, detail=str(exc))
        except httpx.ConnectError as exc:
            outcome = "connect"
            return TransportError("connect", ambiguous=False, detail=str(exc))
        except (httpx.TransportError, OSError) as exc:
            outcome = "reset"
            return TransportError("reset", ambiguous=True, detail=str(exc))
        finally:
            self._metrics.gateway_latency.labels(request.gateway.value, request.kind).observe(
                time.perf_counter() - started
            )
            self._metrics.gateway_calls.labels(request.gateway.value, request.kind, outcome).inc()


DB_UNAVAILABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
