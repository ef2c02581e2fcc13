"""Effects that flows yield, and the two loops that execute them.

A flow is a generator: it yields an effect, the driver performs it and sends
the result back. The effects are few and dumb (run this SQL, read or write
this cache key, send this gateway request), so each driver is small and both
services do exactly the same work, in the same order.

The loops also time each effect for the request's ``Server-Timing`` header
when the request asked for it (``payments.timing``), so every service
measures its database, cache and gateway time at the same place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Literal, Protocol, TypeVar

from payments.gateways.base import GatewayReply, HttpRequest
from payments.timing import EffectTimes, current_times

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """Run one SQL statement (``payments.sql``) and return rows as dicts.

    ``fetch``: "one" returns a dict or None, "all" a list of dicts, "none" None.
    """

    sql: str
    args: tuple[Any, ...] = ()
    fetch: Literal["one", "all", "none"] = "one"


@dataclass(frozen=True, slots=True)
class CacheGet:
    """Read a cached body; the driver returns bytes or None (also when Redis is down)."""

    key: str


@dataclass(frozen=True, slots=True)
class CachePut:
    """Store ``body`` under ``key`` unless a newer ``version`` is already there.

    Drivers run ``CACHE_PUT_SCRIPT`` so a slow reader can never overwrite a
    newer write with an older row. Failures are swallowed: the cache is only a
    fast path and PostgreSQL is the truth.
    """

    key: str
    version: int
    body: bytes
    ttl_s: int


Effect = Query | CacheGet | CachePut | HttpRequest
Flow = Generator[Effect, Any, T]

# KEYS[1] = key; ARGV = version, body, ttl. Values are "<version>|<body>".
CACHE_PUT_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if sep and tonumber(string.sub(cur, 1, sep - 1)) >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
return 1
"""


def cache_value_body(value: bytes) -> bytes:
    """The body part of a cached ``<version>|<body>`` value."""
    return value.split(b"|", 1)[1]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class SyncPorts(Protocol):
    def query(self, q: Query) -> Any: ...
    def cache_get(self, key: str) -> bytes | None: ...
    def cache_put(self, effect: CachePut) -> None: ...
    def http(self, request: HttpRequest) -> GatewayReply: ...


class AsyncPorts(Protocol):
    def query(self, q: Query) -> Awaitable[Any]: ...
    def cache_get(self, key: str) -> Awaitable[bytes | None]: ...
    def cache_put(self, effect: CachePut) -> Awaitable[None]: ...
    def http(self, request: HttpRequest) -> Awaitable[GatewayReply]: ...


def _dispatch(ports: Any, effect: Effect) -> Any:
    if isinstance(effect, Query):
        return ports.query(effect)
    if isinstance(effect, CacheGet):
        return ports.cache_get(effect.key)
    if isinstance(effect, CachePut):
        return ports.cache_put(effect)
    if isinstance(effect, HttpRequest):
        return ports.http(effect)
    raise TypeError(f"unknown effect {effect!r}")


def _record(times: EffectTimes, effect: Effect, seconds: float) -> None:
    if isinstance(effect, Query):
        times.db_s += seconds
        times.db_n += 1
    elif isinstance(effect, HttpRequest):
        times.gateway_s += seconds
        times.gateway_n += 1
    else:
        times.cache_s += seconds
        times.cache_n += 1


def run_sync(flow: Flow[T], ports: SyncPorts) -> T:
    """Drive ``flow`` with blocking ports (the legacy service).

    A failing port (database down) is thrown into the flow at its ``yield``,
    so the flow can undo what it started before the error propagates.
    """
    times = current_times.get()
    try:
        effect = next(flow)
        while True:
            try:
                if times is None:
                    result = _dispatch(ports, effect)
                else:
                    started = perf_counter()
                    try:
                        result = _dispatch(ports, effect)
                    finally:
                        _record(times, effect, perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - raised again in the flow, at its yield
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        done: T = stop.value
        return done
    finally:
        flow.close()


async def run_async(flow: Flow[T], ports: AsyncPorts) -> T:
    """Drive ``flow`` with awaitable ports (the engine)."""
    times = current_times.get()
    try:
        effect = next(flow)
        while True:
            try:
                if times is None:
                    result = await _dispatch(ports, effect)
                else:
                    started = perf_counter()
                    try:
                        result = await _dispatch(ports, effect)
                    finally:
                        _record(times, effect, perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - raised again in the flow, at its yield
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        done: T = stop.value
        return done
    finally:
        flow.close()
