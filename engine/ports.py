"""The engine's I/O: asyncpg for SQL, redis.asyncio for the cache, aiohttp for gateways."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from payments.config import ServiceSettings
from payments.effects import CACHE_PUT_SCRIPT, CachePut, Query
from payments.gateways.base import GatewayReply, HttpRequest, HttpResponse, TransportError
from payments.metrics import Metrics

log = logging.getLogger("engine.ports")


class EnginePorts:
    """Executes flow effects with ``await``; one instance per worker process."""

    def __init__(
        self,
        settings: ServiceSettings,
        pool: asyncpg.Pool,
        cache: aioredis.Redis,
        http: aiohttp.ClientSession,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._cache = cache
        self._http = http
        self._metrics = metrics
        self._put = cache.register_script(CACHE_PUT_SCRIPT)
        self._prefix = settings.redis_prefix
        self._timeout = aiohttp.ClientTimeout(total=settings.gateway_timeout_s)

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
        url = self._settings.gateway_url + request.path
        started = time.perf_counter()
        outcome = "ok"
        try:
            async with self._http.request(
                request.method,
                url,
                headers=dict(request.headers),
                data=request.body or None,
                timeout=self._timeout,
            ) as resp:
                body = await resp.read()
                outcome = str(resp.status)
                return HttpResponse(resp.status, dict(resp.headers), body)
        except TimeoutError as exc:
            outcome = "timeout"
            return TransportError("timeout", ambiguous=True, detail=str(exc))
        except aiohttp.ClientConnectorError as exc:
            outcome = "connect"
            return TransportError("connect", ambiguous=False, detail=str(exc))
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            outcome = "reset"
            return TransportError("reset", ambiguous=True, detail=str(exc))
        finally:
            self._metrics.gateway_latency.labels(request.gateway.value, request.kind).observe(
                time.perf_counter() - started
            )
            self._metrics.gateway_calls.labels(request.gateway.value, request.kind, outcome).inc()
