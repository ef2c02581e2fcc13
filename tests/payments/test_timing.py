"""The effect loops time each effect by kind for the request that asked (payments.timing)."""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest

from payments import sql
from payments.config import ConfigError, ServiceSettings
from payments.effects import CacheGet, CachePut, Flow, Query, run_async, run_sync
from payments.gateways.base import GatewayName, GatewayReply, HttpRequest, HttpResponse
from payments.timing import EffectTimes, current_times

PAUSE_S = 0.002
CALL = HttpRequest(GatewayName.JUSPAY, "GET", "/orders/o1")


def _flow() -> Flow[int]:
    """Two queries, a cache read and write, one gateway call."""
    yield Query(sql.PING)
    yield CacheGet("k")
    yield CacheGet("k")
    yield CachePut("k", 1, b"v", 60)  # counted as the third cache op
    yield Query(sql.PING)
    reply = yield CALL
    assert isinstance(reply, HttpResponse)
    return reply.status


class SyncPorts:
    """Blocking ports that take ``PAUSE_S`` per query and per gateway call."""

    def query(self, q: Query) -> dict[str, int]:
        time.sleep(PAUSE_S)
        return {"ok": 1}

    def cache_get(self, key: str) -> bytes | None:
        return None

    def cache_put(self, effect: CachePut) -> None:
        return None

    def http(self, request: HttpRequest) -> GatewayReply:
        time.sleep(PAUSE_S)
        return HttpResponse(200, {}, b"")


class AsyncPorts:
    async def query(self, q: Query) -> dict[str, int]:
        await asyncio.sleep(PAUSE_S)
        return {"ok": 1}

    async def cache_get(self, key: str) -> bytes | None:
        return None

    async def cache_put(self, effect: CachePut) -> None:
        return None

    async def http(self, request: HttpRequest) -> GatewayReply:
        await asyncio.sleep(PAUSE_S)
        return HttpResponse(200, {}, b"")


def _check(times: EffectTimes) -> None:
    assert (times.db_n, times.cache_n, times.gateway_n) == (2, 3, 1)
    assert times.db_s >= 2 * PAUSE_S
    assert times.gateway_s >= PAUSE_S
    assert 0.0 < times.cache_s < times.db_s


def test_blocking_loop_times_each_kind() -> None:
    """run_sync adds each effect's time and count to the request's EffectTimes."""
    times = EffectTimes()
    token = current_times.set(times)
    try:
        assert run_sync(_flow(), SyncPorts()) == 200
    finally:
        current_times.reset(token)
    _check(times)


async def test_async_loop_times_each_kind() -> None:
    """run_async measures around each await, the same way."""
    times = EffectTimes()
    token = current_times.set(times)
    try:
        assert await run_async(_flow(), AsyncPorts()) == 200
    finally:
        current_times.reset(token)
    _check(times)


def test_a_context_that_did_not_ask_is_not_measured() -> None:
    """A flow run outside the request's context (a background task, another thread)
    adds nothing to the request's times."""
    times = EffectTimes()
    token = current_times.set(times)
    try:
        assert contextvars.Context().run(run_sync, _flow(), SyncPorts()) == 200
    finally:
        current_times.reset(token)
    assert (times.db_n, times.cache_n, times.gateway_n) == (0, 0, 0)
    assert times.db_s == times.cache_s == times.gateway_s == 0.0


class FailingPorts(SyncPorts):
    def query(self, q: Query) -> dict[str, int]:
        time.sleep(PAUSE_S)
        raise OSError("database down")


def test_a_failing_effect_is_timed_and_still_thrown_into_the_flow() -> None:
    """The time of a query that failed counts; the flow still sees the error."""
    seen: list[str] = []

    def flow() -> Flow[None]:
        try:
            yield Query(sql.PING)
        except OSError as exc:
            seen.append(str(exc))

    times = EffectTimes()
    token = current_times.set(times)
    try:
        run_sync(flow(), FailingPorts())
    finally:
        current_times.reset(token)
    assert seen == ["database down"]
    assert times.db_n == 1
    assert times.db_s >= PAUSE_S


ENV = {"PAYBENCH_DATABASE_URL": "postgresql://x/db", "PAYBENCH_REDIS_URL": "redis://x",
       "PAYBENCH_GATEWAY_URL": "http://x"}  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), [
    (None, True), ("", True), ("1", True), ("on", True), ("0", False), ("false", False),
    ("Off", False),
])  # fmt: skip
def test_server_timing_setting(raw: str | None, expected: bool) -> None:
    """PAYBENCH_SERVER_TIMING is on unless set to 0 (false, no, off)."""
    env = dict(ENV) if raw is None else {**ENV, "PAYBENCH_SERVER_TIMING": raw}
    assert ServiceSettings.from_env(env).server_timing is expected


def test_server_timing_setting_refuses_other_values() -> None:
    """Anything but a boolean word is a configuration error naming the variable."""
    with pytest.raises(ConfigError, match="PAYBENCH_SERVER_TIMING"):
        ServiceSettings.from_env({**ENV, "PAYBENCH_SERVER_TIMING": "sometimes"})
