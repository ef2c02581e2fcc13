"""Writing and reading the Server-Timing header, and its WSGI middleware."""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest

from payments import sql
from payments.effects import CachePut, Flow, Query, run_sync
from payments.gateways.base import GatewayReply, HttpRequest
from payments.timing import EffectTimes, current_times
from serving.server_timing import (
    HEADER,
    format_header,
    parse_header,
    parse_parts,
    wsgi_middleware,
)


def _times(db: tuple[float, int], cache: tuple[float, int], gateway: tuple[float, int]
           ) -> EffectTimes:  # fmt: skip
    times = EffectTimes(started=0.0)
    times.db_s, times.db_n = db
    times.cache_s, times.cache_n = cache
    times.gateway_s, times.gateway_n = gateway
    return times


def test_format_is_the_documented_one() -> None:
    """Every part, in order, ms with three decimals, counts in desc; app is what total leaves."""
    value = format_header(_times((0.001234, 3), (0.000210, 2), (0.051002, 1)), 0.053258)
    assert value == (
        'db;dur=1.234;desc="3 queries", cache;dur=0.210;desc="2 ops", '
        'gateway;dur=51.002;desc="1 call", app;dur=0.812, total;dur=53.258'
    )


def test_zero_counts_and_singulars() -> None:
    """No effect at all still names every part, with 0 durations and plural nouns."""
    assert format_header(_times((0.0, 0), (0.0, 0), (0.0, 0)), 0.0001) == (
        'db;dur=0.000;desc="0 queries", cache;dur=0.000;desc="0 ops", '
        'gateway;dur=0.000;desc="0 calls", app;dur=0.100, total;dur=0.100'
    )
    assert 'desc="1 query"' in format_header(_times((0.001, 1), (0.001, 1), (0.0, 0)), 0.01)
    assert 'desc="1 op"' in format_header(_times((0.001, 1), (0.001, 1), (0.0, 0)), 0.01)


def test_app_is_never_negative() -> None:
    """A total smaller than its parts (clock granularity) gives app 0.000, not below."""
    parts = parse_parts(format_header(_times((0.002, 1), (0.0, 0), (0.0, 0)), 0.001))
    assert parts.app_ms == 0.0


def test_round_trip_through_the_parser() -> None:
    """``parse_parts`` reads back what ``format_header`` wrote, counts included."""
    parts = parse_parts(format_header(_times((0.0125, 4), (0.0005, 2), (0.2, 2)), 0.25))
    assert (parts.db_ms, parts.db_count) == (12.5, 4)
    assert (parts.cache_ms, parts.cache_count) == (0.5, 2)
    assert (parts.gateway_ms, parts.gateway_count) == (200.0, 2)
    assert (parts.app_ms, parts.total_ms) == (37.0, 250.0)


def test_parser_reads_any_server_timing_value() -> None:
    """Other metrics, quoted commas, missing or invalid durations, repeated names
    (the first counts): read as an HTTP list of items with parameters."""
    metrics = parse_header(
        'cdn;desc="edge, fra", miss, db;dur=53.1;desc=primary, db;dur=1, x;dur=fast'
    )
    assert list(metrics) == ["cdn", "miss", "db", "x"]
    assert (metrics["cdn"].dur, metrics["cdn"].desc) == (None, "edge, fra")
    assert (metrics["miss"].dur, metrics["miss"].desc) == (None, None)
    assert (metrics["db"].dur, metrics["db"].desc) == (53.1, "primary")
    assert metrics["x"].dur is None
    assert metrics["db"].count is None


def test_parse_parts_names_what_is_missing() -> None:
    """A value without one of the five parts, or without a count, is refused by name."""
    with pytest.raises(ValueError, match="gateway"):
        parse_parts('db;dur=1;desc="1 query", cache;dur=0;desc="0 ops", app;dur=1, total;dur=2')
    with pytest.raises(ValueError, match="cache count"):
        parse_parts('db;dur=1;desc="1 query", cache;dur=0, gateway;dur=0;desc="0 calls", '
                    "app;dur=1, total;dur=2")  # fmt: skip


class _Ports:
    """Ports whose only effect is a query; the loop under test is the real one."""

    def query(self, q: Query) -> dict[str, int]:
        return {"ok": 1}

    def cache_get(self, key: str) -> bytes | None:
        raise AssertionError("not used")

    def cache_put(self, effect: CachePut) -> None:
        raise AssertionError("not used")

    def http(self, request: HttpRequest) -> GatewayReply:
        raise AssertionError("not used")


def _two_queries() -> Flow[bytes]:
    yield Query(sql.PING)
    yield Query(sql.PING)
    return b"ok"


def _app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    body = run_sync(_two_queries(), _Ports())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def test_wsgi_middleware_adds_the_header_and_cleans_up() -> None:
    """The wrapped application's effects show in the header it adds; afterwards no
    request is being measured in that thread."""
    sent: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None
                       ) -> object:  # fmt: skip
        sent.append((status, headers))
        return lambda data: None

    body = wsgi_middleware(_app)({}, start_response)
    assert list(body) == [b"ok"]
    (status, headers), = sent
    assert status == "200 OK"
    assert headers[0] == ("Content-Type", "text/plain")
    name, value = headers[-1]
    assert name == HEADER
    parts = parse_parts(value)
    assert parts.db_count == 2
    assert parts.db_ms > 0.0
    assert parts.total_ms >= parts.db_ms
    assert current_times.get() is None
