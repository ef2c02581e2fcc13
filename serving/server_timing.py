"""The ``Server-Timing`` header every service answers with: writing it and reading it back.

One value per response, every part always present, durations in milliseconds
with three decimals (W3C Server Timing)::

    Server-Timing: db;dur=1.234;desc="3 queries", cache;dur=0.210;desc="2 ops",
        gateway;dur=51.002;desc="1 call", app;dur=0.812, total;dur=53.258

``db``, ``cache`` and ``gateway`` are the wall time of the request's effects
of each kind (SQL statements, cache reads and writes, gateway calls), summed,
with their count; the effect loops measure them (``payments.timing``), so
they are measured the same way in every service. ``total`` is the handler
time as the service sees it, from the request reaching its middleware to the
response being ready; ``app`` is what is left, ``total - db - cache -
gateway``, never negative. An await's wall time includes waiting for the
event loop, so under load the async services' parts include their queueing.

A service's edge calls ``begin`` when a request arrives, ``header_value`` when
its response is ready and ``finish`` on its way out (``wsgi_middleware`` does
it all for a WSGI application);
``parse_header`` and ``parse_parts`` read the value with Werkzeug's parser of
HTTP list and parameter headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import Token
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.http import parse_list_header, parse_options_header

from payments.timing import EffectTimes, current_times

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

HEADER = "Server-Timing"
PARTS = ("db", "cache", "gateway", "app", "total")
_COUNT = re.compile(r"\s*(\d+)")


_FORMAT = (
    'db;dur=%.3f;desc="%d %s", cache;dur=%.3f;desc="%d %s", gateway;dur=%.3f;desc="%d %s", '
    "app;dur=%.3f, total;dur=%.3f"
)


def format_header(times: EffectTimes, total_s: float) -> str:
    """The header value for ``times`` and a handler time of ``total_s`` seconds."""
    # One %-format: a third of the CPU of f-strings with a helper per part (it runs per request).
    db, cache, gateway = times.db_s * 1000.0, times.cache_s * 1000.0, times.gateway_s * 1000.0
    total = total_s * 1000.0
    app = total - db - cache - gateway
    n_db, n_cache, n_gateway = times.db_n, times.cache_n, times.gateway_n
    return _FORMAT % (
        db, n_db, "query" if n_db == 1 else "queries",
        cache, n_cache, "op" if n_cache == 1 else "ops",
        gateway, n_gateway, "call" if n_gateway == 1 else "calls",
        app if app > 0.0 else 0.0, total,
    )  # fmt: skip


def begin() -> tuple[EffectTimes, Token[EffectTimes | None]]:
    """Start measuring the request being served (call where it arrives)."""
    times = EffectTimes()
    return times, current_times.set(times)


def header_value(times: EffectTimes) -> str:
    """The header value for a request whose response is ready now."""
    return format_header(times, perf_counter() - times.started)


def finish(token: Token[EffectTimes | None]) -> None:
    """Stop measuring (in the task or thread that called ``begin``)."""
    current_times.reset(token)


def wsgi_middleware(app: WSGIApplication) -> WSGIApplication:
    """``app`` answering with a ``Server-Timing`` header; ``total`` ends when ``app``
    starts its response (a blocking service has its body ready by then)."""

    def timed(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        times, token = begin()

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            return start_response(status, [*headers, (HEADER, header_value(times))], exc_info)

        try:
            return app(environ, start)
        finally:
            finish(token)

    return timed


# -- reading ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of a ``Server-Timing`` value; ``dur`` in ms, None when absent or invalid."""

    name: str
    dur: float | None
    desc: str | None

    @property
    def count(self) -> int | None:
        """The number a description starts with (``"3 queries"`` -> 3), else None."""
        match = _COUNT.match(self.desc or "")
        return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class Parts:
    """The parts paybench's services send, in ms, with the effect counts."""

    db_ms: float
    db_count: int
    cache_ms: float
    cache_count: int
    gateway_ms: float
    gateway_count: int
    app_ms: float
    total_ms: float


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def parse_header(value: str) -> dict[str, Metric]:
    """Every metric of a ``Server-Timing`` value by name (the first of a repeated name),
    parsed as an HTTP list of items with parameters (Werkzeug)."""
    out: dict[str, Metric] = {}
    for item in parse_list_header(value):
        name, params = parse_options_header(item)
        if name and name not in out:
            out[name] = Metric(name, _number(params.get("dur")), params.get("desc"))
    return out


def _dur(metrics: dict[str, Metric], name: str, value: str) -> float:
    metric = metrics.get(name)
    if metric is None or metric.dur is None:
        raise ValueError(f"Server-Timing has no {name} duration: {value!r}")
    return metric.dur


def _count(metrics: dict[str, Metric], name: str, value: str) -> int:
    count = metrics[name].count if name in metrics else None
    if count is None:
        raise ValueError(f"Server-Timing has no {name} count: {value!r}")
    return count


def parse_parts(value: str) -> Parts:
    """The five parts of a paybench service's header; ``ValueError`` names a missing one."""
    m = parse_header(value)
    return Parts(
        db_ms=_dur(m, "db", value), db_count=_count(m, "db", value),
        cache_ms=_dur(m, "cache", value), cache_count=_count(m, "cache", value),
        gateway_ms=_dur(m, "gateway", value), gateway_count=_count(m, "gateway", value),
        app_ms=_dur(m, "app", value), total_ms=_dur(m, "total", value),
    )  # fmt: skip
