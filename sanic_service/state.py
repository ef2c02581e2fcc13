"""What a worker holds: ``app.ctx`` (per worker process) and the typed app and request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from sanic import Sanic
from sanic.config import Config
from sanic.request import Request

from payments.api import Context
from payments.config import ServiceSettings
from sanic_service.ports import SanicPorts
from serving.gateway_http import GatewayHttpClient
from serving.metrics import Metrics
from serving.stats import Aggregator

if TYPE_CHECKING:
    from sanic_service.watchdog import Watchdog


@dataclass
class Resources:
    """What a worker opens on start-up and closes on shutdown."""

    metrics: Metrics
    cache: aioredis.Redis
    http: GatewayHttpClient
    ports: SanicPorts
    reconciler: asyncio.Task[None] | None = None


@dataclass
class ServiceState:
    """``app.ctx``: one per process (Sanic spawns workers; nothing is shared between them)."""

    settings: ServiceSettings
    context: Context
    stats: Aggregator
    resources: Resources | None = None  # workers, once started
    watchdog: Watchdog | None = None  # the manager process

    def running(self) -> Resources:
        if self.resources is None:
            raise RuntimeError("the worker's resources are not open (start-up has not run)")
        return self.resources

    def ports(self) -> SanicPorts:
        return self.running().ports


ServiceApp = Sanic[Config, ServiceState]
ServiceRequest = Request[ServiceApp, SimpleNamespace]
