"""Typed keys of the engine's application state."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from engine.ports import EnginePorts
from payments.api import Context
from payments.config import ServiceSettings
from serving.gateway_http import GatewayHttpClient
from serving.metrics import Metrics
from serving.stats import Aggregator

SETTINGS = web.AppKey("settings", ServiceSettings)
CONTEXT = web.AppKey("context", Context)
POOL = web.AppKey("pool", asyncpg.Pool)
REDIS = web.AppKey("redis", aioredis.Redis)
HTTP = web.AppKey("http", GatewayHttpClient)
PORTS = web.AppKey("ports", EnginePorts)
METRICS = web.AppKey("metrics", Metrics)
STATS = web.AppKey("stats", Aggregator)
