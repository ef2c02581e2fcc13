"""The engine's application factory: resources as cleanup contexts under typed keys."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections.abc import AsyncIterator

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from engine.handlers import register_routes
from engine.keys import CONTEXT, HTTP, METRICS, POOL, PORTS, REDIS, SETTINGS, STATS
from engine.middleware import edge_middleware
from engine.ports import EnginePorts
from engine.timing import server_timing_middleware
from payments.api import Context
from payments.config import ServiceSettings
from payments.effects import run_async
from payments.flows.reconcile import reconcile_once
from serving.gateway_http import GatewayHttpClient
from serving.logs import configure_logging
from serving.metrics import Metrics
from serving.stats import Aggregator

log = logging.getLogger("engine")


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # The pool opens lazily (min_size=0) so the engine starts, and answers
    # /health with 503, while PostgreSQL is down; it recovers by itself.
    app[POOL] = await asyncpg.create_pool(
        settings.database_url,
        min_size=0,
        max_size=settings.db_pool_size,
        server_settings={"search_path": settings.db_schema, "application_name": "paybench-engine"},
        command_timeout=30,
        reset=_keep_session,
    )
    yield
    await app[POOL].close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is.

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` on every release, and the engine releases after
    every statement: one more round trip (and backend work) per query, which
    neither the legacy service nor pgbench pays. The flows never change
    session state (single autocommit statements, no locks, cursors or
    LISTEN), and asyncpg still rolls back a transaction left open.
    """


async def _cache(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[REDIS] = aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        max_connections=settings.db_pool_size * 4,
    )
    yield
    await app[REDIS].aclose()


async def _gateway_http(app: web.Application) -> AsyncIterator[None]:
    app[HTTP] = GatewayHttpClient(app[SETTINGS].gateway_url)
    app[PORTS] = EnginePorts(app[SETTINGS], app[POOL], app[REDIS], app[HTTP], app[METRICS])
    yield
    await app[HTTP].close()


async def _reconciler(app: web.Application) -> AsyncIterator[None]:
    interval = app[SETTINGS].reconcile_interval_s
    if interval <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                report = await run_async(reconcile_once(app[CONTEXT]), app[PORTS])
            except Exception:
                log.exception("reconcile pass failed")
                continue
            if report.attempts_checked or report.refunds_checked:
                log.info("reconciled", extra={"report": dataclasses.asdict(report)})

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: ServiceSettings) -> web.Application:
    """The engine for ``settings``; resources open on start-up and close on clean-up."""
    timing = [server_timing_middleware] if settings.server_timing else []
    app = web.Application(middlewares=[*timing, edge_middleware])
    app[SETTINGS] = settings
    app[CONTEXT] = Context(settings)
    app[METRICS] = Metrics("engine")
    app[STATS] = Aggregator()
    app.cleanup_ctx.extend([_database, _cache, _gateway_http, _reconciler])
    register_routes(app)
    return app


async def app_factory() -> web.Application:
    """Entry point for gunicorn's aiohttp worker: settings from the environment."""
    configure_logging("engine")
    return create_app(ServiceSettings.from_env(os.environ))
