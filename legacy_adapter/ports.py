"""The legacy service's blocking I/O: psycopg, redis and httpx, one call at a time."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import redis
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from payments.config import ServiceSettings
from payments.effects import CACHE_PUT_SCRIPT, CachePut, Query
from payments.gateways.base import GatewayReply, HttpRequest, HttpResponse, TransportError
from serving.metrics import Metrics

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


class PoolTimeout(psycopg.OperationalError):
    """Every connection of the worker stayed busy for the whole wait."""


class WorkerPool:
    """The PostgreSQL connections of one sync worker (its request thread and reconciler).

    Connections are opened on demand and kept idle up to ``max_size``. Unlike
    a pool that reconnects in the background with a growing back-off, it
    fails at once while PostgreSQL is down (the connect is refused: 503 now,
    not after a wait) and serves again on the first request after it is
    back. An idle connection whose socket became readable was closed by the
    server (restart, idle timeout): it is dropped before use instead of
    failing the request that would have picked it.
    """

    def __init__(
        self, conninfo: str, max_size: int, *, wait_s: float = 5.0, connect_timeout_s: int = 2,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        self._conninfo = conninfo
        self._kwargs = {"connect_timeout": connect_timeout_s, **kwargs}
        self._slots = threading.BoundedSemaphore(max_size)
        self._wait_s = wait_s
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._open = 0

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        if not self._slots.acquire(timeout=self._wait_s):
            raise PoolTimeout(f"no free database connection after {self._wait_s} s")
        try:
            conn = self._take() or self._connect()
            try:
                yield conn
            finally:
                self._give(conn)
        finally:
            self._slots.release()

    def _connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = psycopg.connect(self._conninfo, **self._kwargs)
        with self._lock:
            self._open += 1
        return conn

    def _take(self) -> psycopg.Connection[Any] | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not conn.closed and not _readable(conn):
                return conn
            self._discard(conn)

    def _give(self, conn: psycopg.Connection[Any]) -> None:
        if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
            self._discard(conn)
            return
        with self._lock:
            self._idle.append(conn)

    def _discard(self, conn: psycopg.Connection[Any]) -> None:
        with contextlib.suppress(psycopg.Error, OSError):
            conn.close()
        with self._lock:
            self._open -= 1

    def get_stats(self) -> dict[str, int]:
        with self._lock:
            return {"pool_size": self._open, "pool_available": len(self._idle)}

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)


def _readable(conn: psycopg.Connection[Any]) -> bool:
    """An idle connection has nothing to read unless the server said goodbye."""
    try:
        ready, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(ready)


class LegacyPorts:
    """Executes flow effects with blocking calls; one instance per worker process."""

    def __init__(self, settings: ServiceSettings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self.pool = WorkerPool(
            settings.database_url,
            settings.db_pool_size,
            autocommit=True,
            row_factory=dict_row,
            options=f"-c search_path={settings.db_schema}",
            application_name="paybench-legacy",
        )
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
            self._metrics.gateway_call(
                request.gateway.value, request.kind, outcome, time.perf_counter() - started
            )


DB_UNAVAILABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
