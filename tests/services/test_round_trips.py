"""Round trips per request: what each endpoint asks of PostgreSQL, Redis and the gateway.

Every service drives the same flows (``payments/``), so an endpoint makes the
same SQL statements, cache calls and gateway calls in each of them. The
counts are pinned here, per endpoint and per service, so that a change that
adds a round trip fails a test instead of showing up, or not, in a
benchmark. Each service's real ports run in this process against the session
stack's schema, Redis prefix and gateway simulator, wrapped so they count
what they are asked to do; for the Sanic service the statements Tortoise
actually sends to PostgreSQL are counted as well (``orm_sql``).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp import web
from tortoise.context import TortoiseContext

from engine.app import create_app
from engine.keys import CONTEXT, PORTS
from legacy_adapter.ports import LegacyPorts
from legacy_adapter.vyked.routing import compile_path
from payments.api import ApiRequest, Context, Route, handle, routes
from payments.config import ServiceSettings
from payments.effects import CachePut, Query, Response, run_async, run_sync
from payments.flows.common import payment_cache_key
from payments.gateways.base import GatewayReply, HttpRequest
from payments.gateways.wire import basic_auth
from sanic_service.app import tortoise_config
from sanic_service.ports import SanicPorts
from serving.gateway_http import GatewayHttpClient
from serving.metrics import Metrics
from stack.services import Stack
from tests.services.gateway_tools import juspay_webhook, sim_profile
from tests.services.helpers import TARGETS, database_url, new_order, payment_body, redis_url

ROUTES = routes()


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The contract route of a request and its path parameters, by the legacy router's rules."""
    for route in ROUTES:
        regex = compile_path(route.pattern)  # None for a path without parameters
        found = regex.fullmatch(path) if regex is not None else None
        if route.method == method and (found is not None or route.pattern == path):
            return route, found.groupdict() if found is not None else {}
    raise AssertionError(f"no route for {method} {path}")


class Counting:
    """A service's real ports, counting each effect they perform by kind."""

    def __init__(self, ports: Any) -> None:
        self.ports = ports
        self.counts: Counter[str] = Counter()

    def _count(self, kind: str) -> None:
        self.counts[kind] += 1


class CountingAsync(Counting):
    async def query(self, q: Query) -> Any:
        self._count("sql")
        return await self.ports.query(q)

    async def cache_get(self, key: str) -> bytes | None:
        self._count("cache_get")
        value: bytes | None = await self.ports.cache_get(key)
        return value

    async def cache_put(self, effect: CachePut) -> None:
        self._count("cache_put")
        await self.ports.cache_put(effect)

    async def http(self, request: HttpRequest) -> GatewayReply:
        self._count("gateway")
        reply: GatewayReply = await self.ports.http(request)
        return reply


class CountingSync(Counting):
    def query(self, q: Query) -> Any:
        self._count("sql")
        return self.ports.query(q)

    def cache_get(self, key: str) -> bytes | None:
        self._count("cache_get")
        value: bytes | None = self.ports.cache_get(key)
        return value

    def cache_put(self, effect: CachePut) -> None:
        self._count("cache_put")
        self.ports.cache_put(effect)

    def http(self, request: HttpRequest) -> GatewayReply:
        self._count("gateway")
        reply: GatewayReply = self.ports.http(request)
        return reply


class OrmStatements(logging.Handler):
    """Counts the statements Tortoise's database client sends (each is logged at DEBUG).

    The ``BEGIN`` and ``COMMIT`` of an ``in_transaction()`` block are not logged:
    each transaction of the driver adds those two round trips to the count.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s":  # a statement and its values, not pool housekeeping
            self.count += 1


@dataclass
class Service:
    """One service's flows and ports, in this process."""

    name: str
    context: Context
    ports: Counting
    drive: Callable[[Any, Any], Awaitable[Response]]
    api_key: str
    merchant_id: str
    redis_prefix: str
    orm: OrmStatements | None = None

    async def send(
        self, method: str, path: str, body: bytes = b"", *, key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Response, dict[str, int]]:  # fmt: skip
        """One request through the route's flow: its response and the effects it made."""
        bare, _, query = path.partition("?")
        route, params = resolve(method, bare)
        request = ApiRequest(
            method=method, path=bare, params=params,
            query=dict(p.split("=", 1) for p in query.split("&") if p),
            authorization=basic_auth(self.api_key, ""), idempotency_key=key, body=body,
            headers=headers or {"Content-Type": "application/json"},
            content_type=(headers or {}).get("Content-Type", "application/json"),
        )  # fmt: skip
        self.ports.counts.clear()
        if self.orm is not None:
            self.orm.count = 0
        response = await self.drive(handle(self.context, route, request), self.ports)
        counts = dict(self.ports.counts)
        if self.orm is not None and self.orm.count:
            counts["orm_sql"] = self.orm.count
        return response, counts

    async def expect(self, counts: dict[str, int], method: str, path: str, body: Any = None,
                     **kwargs: Any) -> dict[str, Any]:  # fmt: skip
        """Send, require a 2xx and exactly ``counts`` (kinds not named: none); the body."""
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        response, seen = await self.send(method, path, raw or b"", **kwargs)
        assert response.status < 300, (path, response.status, response.body)
        wanted = {kind: n for kind, n in counts.items() if n}
        if self.orm is None:
            wanted.pop("orm_sql", None)
        assert seen == wanted, f"{self.name} {method} {path}"
        answer: dict[str, Any] = json.loads(response.body)
        return answer


async def _drive_async(flow: Any, ports: Any) -> Response:
    result: Response = await run_async(flow, ports)
    return result


async def _drive_sync(flow: Any, ports: Any) -> Response:
    return run_sync(flow, ports)


def _settings(stack: Stack, name: str) -> ServiceSettings:
    return ServiceSettings(
        database_url=database_url(), redis_url=redis_url(), gateway_url=stack.gateway_url,
        db_schema=stack.schemas[name], db_pool_size=2, redis_prefix=stack.redis_prefixes[name],
        gateway_timeout_s=2.0,
    )  # fmt: skip


@pytest.fixture
def orm_log() -> Iterator[OrmStatements]:
    handler = OrmStatements()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture(params=TARGETS)
async def service(request: pytest.FixtureRequest, stack: Stack,
                  orm_log: OrmStatements) -> AsyncIterator[Service]:  # fmt: skip
    """The service's own ports and flows in this process, on the stack's servers."""
    name: str = request.param
    settings = _settings(stack, name)
    seed = stack.merchants[name][0]

    def made(ports: Counting, context: Context, drive: Any,
             orm: OrmStatements | None = None) -> Service:  # fmt: skip
        return Service(name, context, ports, drive, seed.api_key, seed.id,
                       settings.redis_prefix, orm)  # fmt: skip

    if name == "engine":
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()  # the engine's resources, as its workers open them
        yield made(CountingAsync(app[PORTS]), app[CONTEXT], _drive_async)
        await runner.cleanup()
    elif name == "legacy":
        ports = LegacyPorts(settings, Metrics("legacy"))
        yield made(CountingSync(ports), Context(settings), _drive_sync)
        ports.close()
    else:
        cache = aioredis.Redis.from_url(settings.redis_url)
        http = GatewayHttpClient(settings.gateway_url)
        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(settings))
            sanic_ports = SanicPorts(settings, cache, http, Metrics("sanic"))
            yield made(CountingAsync(sanic_ports), Context(settings), _drive_async, orm_log)
        await http.close()
        await cache.aclose()


def _forget_cached(service: Service, payment_id: str) -> None:
    client = redis.Redis.from_url(redis_url())
    try:
        client.delete(service.redis_prefix + payment_cache_key(service.merchant_id, payment_id))
    finally:
        client.close()


async def test_round_trips_per_endpoint(service: Service, stack: Stack) -> None:
    """Each endpoint makes exactly its pinned SQL statements, cache calls and gateway calls."""
    # A webhook for an outcome the reply carried would reach the running service and
    # may settle the attempt first (then the flow re-reads the payment): none is sent.
    with sim_profile(stack.gateway_url, {"webhook": {"only_async": True}}):
        await _walk_endpoints(service, stack)


async def _walk_endpoints(s: Service, stack: Stack) -> None:
    # The first request of a process also looks its merchant up (then cached).
    await s.expect({"sql": 2, "orm_sql": 2}, "GET", f"/v1/payments?order_id={new_order()}")

    # create, then confirm: INSERT_PAYMENT; GET_PAYMENT, BEGIN_ATTEMPT, /orders, /txns,
    # SETTLE_ATTEMPT; each writes the payment through to the cache
    created = await s.expect({"sql": 1, "cache_put": 1, "orm_sql": 1},
                             "POST", "/v1/payments", payment_body())  # fmt: skip
    await s.expect({"sql": 3, "gateway": 2, "cache_put": 1, "orm_sql": 7},
                   "POST", f"/v1/payments/{created['id']}/confirm")  # fmt: skip

    # create-and-confirm, the benchmark's request: INSERT_PAYMENT_WITH_ATTEMPT, /orders,
    # /txns, SETTLE_ATTEMPT, the cache write (and the reply): 6 round trips. Tortoise:
    # two INSERTs, then UPDATE, UPDATE, SELECT, in two transactions (+4 BEGIN/COMMIT)
    paid = await s.expect({"sql": 2, "gateway": 2, "cache_put": 1, "orm_sql": 5},
                          "POST", "/v1/payments", payment_body(confirm=True))  # fmt: skip
    assert paid["status"] == "succeeded"

    # with an Idempotency-Key: the claim before, the stored response after; a replay
    # is the claim that fails and the read of the stored response (Tortoise: the
    # refused INSERT, the conditional take-over UPDATE, the read)
    body, key = payment_body(confirm=True), new_order()
    first = await s.expect({"sql": 4, "gateway": 2, "cache_put": 1, "orm_sql": 7},
                           "POST", "/v1/payments", body, key=key)  # fmt: skip
    again = await s.expect({"sql": 2, "orm_sql": 3}, "POST", "/v1/payments", body, key=key)
    assert again == first

    # reads: the cache answers; after it lost the entry, the database and a write-back
    await s.expect({"cache_get": 1}, "GET", f"/v1/payments/{paid['id']}")
    _forget_cached(s, paid["id"])
    await s.expect({"cache_get": 1, "sql": 1, "cache_put": 1, "orm_sql": 1},
                   "GET", f"/v1/payments/{paid['id']}")  # fmt: skip
    await s.expect({"sql": 1, "orm_sql": 1}, "GET", f"/v1/payments?order_id={paid['order_id']}")

    # sync of a settled payment: GET_PAYMENT, UNSETTLED_REFUNDS_OF_PAYMENT, no gateway call
    await s.expect({"sql": 2, "cache_put": 1, "orm_sql": 2},
                   "POST", f"/v1/payments/{paid['id']}/sync")  # fmt: skip

    # refund: RESERVE_REFUND, GET_PAYMENT, the gateway, SETTLE_REFUND, GET_PAYMENT
    refund = await s.expect({"sql": 4, "gateway": 1, "cache_put": 1, "orm_sql": 7},
                            "POST", f"/v1/payments/{paid['id']}/refunds",
                            {"amount": 1000})  # fmt: skip
    await s.expect({"sql": 1, "orm_sql": 1}, "GET", f"/v1/refunds/{refund['id']}")

    # a webhook for a settled attempt: GET_ATTEMPT, RECORD_WEBHOOK_EVENT (the merchant is
    # cached), nothing to settle
    event, headers = juspay_webhook(stack.gateway_url, stack.merchants[s.name][0],
                                    paid["attempt_id"])  # fmt: skip
    await s.expect({"sql": 2, "orm_sql": 2}, "POST", "/v1/webhooks/juspay", event,
                   headers=headers)  # fmt: skip
