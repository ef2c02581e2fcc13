"""The engine's I/O: asyncpg for SQL, redis.asyncio for the cache, ``gateway_http`` for gateways."""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from payments.config import ServiceSettings
from payments.effects import CACHE_PUT_SCRIPT, CachePut, Query
from payments.gateways.base import GatewayReply, HttpRequest, HttpResponse, TransportError
from serving.gateway_http import ConnectFailed, GatewayHttpClient, ResponseFailed
from serving.metrics import Metrics

log = logging.getLogger("engine.ports")


class EnginePorts:
    """Executes flow effects with ``await``; one instance per worker process."""

    def __init__(
        self,
        settings: ServiceSettings,
        pool: asyncpg.Pool,
        cache: aioredis.Redis,
        http: GatewayHttpClient,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._cache = cache
        self._http = http
        self._metrics = metrics
        self._put = cache.register_script(CACHE_PUT_SCRIPT)
        self._prefix = settings.redis_prefix
        self._timeout_s = settings.gateway_timeout_s

    async def query(self, q: Query) -> Any:
        if q.fetch == "one":
            row = await self._pool.fetchrow(q.sql, *q.args)
            return dict(row.items()) if row is not None else None
        if q.fetch == "all":
            rows = await self._pool.fetch(q.sql, *q.args)
            return [dict(r.items()) for r in rows]
        await self._pool.execute(q.sql, *q.args)
        return None

    async def cache_get(self, key: str) -> bytes | None:
        try:
            value = await self._cache.get(self._prefix + key)
        except (aioredis.RedisError, OSError) as exc:
            self._metrics.cache_errors.inc()
            log.warning("cache read failed", extra={"error": str(exc)})
            return None
        self._metrics.cache_lookups.labels("hit" if value is not None else "miss").inc()
        return value.encode() if isinstance(value, str) else value

    async def cache_put(self, effect: CachePut) -> None:
        try:
            await self._put(
                keys=[self._prefix + effect.key], args=[effect.version, effect.body, effect.ttl_s]
            )
        except (aioredis.RedisError, OSError) as exc:
            self._metrics.cache_errors.inc()
            log.warning("cache write failed", extra={"error": str(exc)})

    async def http(self, request: HttpRequest) -> GatewayReply:
        started = time.perf_counter()
        outcome = "ok"
        try:
            status, headers, body = await self._http.request(
                request.method, request.path, request.headers, request.body, self._timeout_s
            )
            outcome = str(status)
            return HttpResponse(status, headers, body)
        except TimeoutError as exc:
            outcome = "timeout"
            return TransportError("timeout", ambiguous=True, detail=str(exc))
        except ConnectFailed as exc:
            outcome = "connect"
            return TransportError("connect", ambiguous=False, detail=str(exc))
        except (ResponseFailed, OSError) as exc:
            outcome = "reset"
            return TransportError("reset", ambiguous=True, detail=str(exc))
        finally:
            self._metrics.gateway_call(
                request.gateway.value, request.kind, outcome, time.perf_counter() - started
            )
