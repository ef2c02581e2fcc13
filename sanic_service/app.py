"""The Sanic application factory, its listeners, and Sanic's own multi-worker server.

Sanic starts a manager process that binds one listening socket and spawns
the workers; each worker re-imports this module and calls ``app_factory``,
so nothing (pool, client, loop) is created at import time. Per worker:

- ``before_server_start``: Tortoise (``register_tortoise``, which keeps its
  context global so handlers see it), then Redis, the gateway client, the
  ports and the reconciler task, and a first query so the pool is warm;
- ``before_server_stop``: the reconciler stops;
- ``after_server_stop``: clients close, then Tortoise's pool.

In the manager process, the watchdog restarts workers that die.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import signal
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from sanic import Sanic
from sanic.worker.loader import AppLoader
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.contrib.sanic import register_tortoise

from payments.api import Context, health_flow
from payments.config import ServiceSettings
from payments.effects import run_async
from payments.flows.reconcile import reconcile_once
from sanic_service import handlers, middleware, timing
from sanic_service.ports import SanicPorts
from sanic_service.state import Resources, ServiceApp, ServiceState
from sanic_service.watchdog import Watchdog
from serving.gateway_http import GatewayHttpClient
from serving.logs import configure_logging
from serving.metrics import Metrics
from serving.stats import Aggregator

log = logging.getLogger("sanic_service")

APP_NAME = "paybench_sanic"
REQUEST_MAX_SIZE = 1024**2  # aiohttp's and the Vyked shim's limit: 413 above it
KEEP_ALIVE_TIMEOUT_S = 75  # aiohttp's, as the engine's workers keep connections
GRACEFUL_SHUTDOWN_S = 5.0  # gunicorn --graceful-timeout of the other two


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is (the engine's pool does the same).

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` on every release, and Tortoise releases after every
    statement outside a transaction: a round trip per query that neither of the
    other services pays. The driver never changes session state, and asyncpg
    still rolls back a transaction left open.
    """


def tortoise_config(settings: ServiceSettings) -> dict[str, Any]:
    """One ``default`` connection: the target's schema, the pool size of the other services."""
    connection = expand_db_url(settings.database_url)
    connection["credentials"].update(
        schema=settings.db_schema,  # Tortoise sets it as search_path
        minsize=0,  # opens lazily: the worker starts (and /health says 503) while PG is down
        maxsize=settings.db_pool_size,
        application_name="paybench-sanic",
        command_timeout=30,
        reset=_keep_session,
    )
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": ["sanic_service.models"], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def create_app(settings: ServiceSettings, response_timeout_s: float = 60.0) -> ServiceApp:
    """The service for ``settings``; clients open in each worker on start-up."""
    state = ServiceState(settings, Context(settings), Aggregator())
    # strict slashes: /v1/payments/ is an unknown route for the other two as well
    app: ServiceApp = Sanic(APP_NAME, ctx=state, configure_logging=False, strict_slashes=True)
    app.config.update(
        REQUEST_MAX_SIZE=REQUEST_MAX_SIZE,
        KEEP_ALIVE_TIMEOUT=KEEP_ALIVE_TIMEOUT_S,
        GRACEFUL_SHUTDOWN_TIMEOUT=GRACEFUL_SHUTDOWN_S,
        RESPONSE_TIMEOUT=response_timeout_s,
        ACCESS_LOG=False,  # per-request lines would dominate a load test's CPU
        MOTD=False,
    )
    register_tortoise(app, config=tortoise_config(settings), generate_schemas=False)
    app.before_server_start(_open_resources)
    app.before_server_stop(_stop_reconciler)
    app.after_server_stop(_close_resources)
    app.main_process_ready(_start_watchdog)
    app.main_process_stop(_stop_watchdog)
    if settings.server_timing:
        timing.install(app)  # first: its response middleware runs last
    middleware.install(app)
    handlers.register_routes(app)
    return app


def app_factory(response_timeout_s: float = 60.0) -> ServiceApp:
    """Entry point of the manager and of every worker: settings from the environment."""
    configure_logging("sanic")
    return create_app(ServiceSettings.from_env(os.environ), response_timeout_s)


async def _open_resources(app: ServiceApp) -> None:
    state = app.ctx
    settings = state.settings
    # Built here, not in the factory: the manager process serves nothing and
    # must not hold a metrics file of its own.
    metrics = Metrics("sanic")
    cache = aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        max_connections=settings.db_pool_size * 4,
    )
    http = GatewayHttpClient(settings.gateway_url)
    ports = SanicPorts(settings, cache, http, metrics)
    state.resources = Resources(metrics, cache, http, ports)
    try:  # Tortoise connects on the first query: warm the pool, and say so if PG is away
        await run_async(health_flow(), ports)
    except middleware.DB_UNAVAILABLE as exc:
        log.warning("database unavailable at start-up", extra={"error": repr(exc)})
    if settings.reconcile_interval_s > 0:
        state.resources.reconciler = asyncio.create_task(_reconcile_loop(state))


async def _reconcile_loop(state: ServiceState) -> None:
    while True:
        await asyncio.sleep(state.settings.reconcile_interval_s)
        try:
            report = await run_async(reconcile_once(state.context), state.ports())
        except Exception:
            log.exception("reconcile pass failed")
            continue
        if report.attempts_checked or report.refunds_checked:
            log.info("reconciled", extra={"report": dataclasses.asdict(report)})


async def _stop_reconciler(app: ServiceApp) -> None:
    resources = app.ctx.resources
    if resources is not None and resources.reconciler is not None:
        resources.reconciler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resources.reconciler


async def _close_resources(app: ServiceApp) -> None:
    resources = app.ctx.resources
    if resources is not None:
        await resources.http.close()
        await resources.cache.aclose()


async def _start_watchdog(app: ServiceApp) -> None:
    app.ctx.watchdog = Watchdog(app.manager)
    app.ctx.watchdog.start()


async def _stop_watchdog(app: ServiceApp) -> None:
    if app.ctx.watchdog is not None:
        app.ctx.watchdog.stop()


def serve(host: str, port: int, workers: int, timeout_s: float) -> None:
    """Run Sanic's own server: a manager process and ``workers`` worker processes."""
    loader = AppLoader(factory=functools.partial(app_factory, timeout_s))
    app = loader.load()
    app.prepare(host=host, port=port, workers=workers, access_log=False, motd=False,
                single_process=False)  # fmt: skip
    # Sanic keeps its worker table in a multiprocessing manager process, a child in
    # this process group: a SIGTERM to the group (how the stack, and most supervisors,
    # stop a service) would kill it under the main process, which then fails to stop
    # the workers in order. An ignored signal stays ignored across exec, so that
    # process, started first by Sanic.serve, ignores SIGTERM; Sanic installs its own
    # handler here right after, and shuts the manager process down on its way out.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Sanic.serve(primary=app, app_loader=loader)
