"""A response's ``Server-Timing`` header as the sample columns the recorder writes.

The services answer ``Server-Timing: db;dur=1.234;desc="3 queries", cache;dur=0.210;
desc="2 ops", gateway;dur=51.002;desc="1 call", app;dur=0.812, total;dur=53.258``:
milliseconds, ``total`` the handler's time, ``app`` what is left of it after the
database, the cache and the gateway. The recorder keeps the raw header on its hot path
and turns it into the columns of ``rundir.samples.Sample`` when it writes its rows.
"""

from __future__ import annotations

import math
import re

# the columns the header gives, in the order the recorder writes them
TIMING_COLUMNS: tuple[str, ...] = (
    "server_total_ms", "db_ms", "cache_ms", "gateway_ms", "app_ms",
    "db_count", "cache_count", "gateway_count",
)
_DURATIONS = (("total", "server_total_ms"), ("db", "db_ms"), ("cache", "cache_ms"),
              ("gateway", "gateway_ms"), ("app", "app_ms"))
_COUNTED = ("db", "cache", "gateway")
_NONE = (math.nan,) * len(TIMING_COLUMNS)
# one token of the header: a name, maybe ``=value`` (a token or a quoted string), and the
# separator after it (a comma ends a metric, a semicolon one of its parameters)
_TOKEN = re.compile(r'\s*([^\s,;="]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,;"]*?))?\s*(,|;|$)')
_ESCAPE = re.compile(r"\\(.)")
_LEADING_INT = re.compile(r"\s*(\d+)")


def parse_header(value: str) -> dict[str, dict[str, str]]:
    """Every metric of a ``Server-Timing`` value with its parameters (``dur``, ``desc``...),
    quoted strings unquoted; a metric named twice keeps its first occurrence, as the W3C
    Server Timing specification says, and a malformed metric is skipped to the next comma.

    One pass of one regular expression: the recorder parses every response's header."""
    metrics: dict[str, dict[str, str]] = {}
    params: dict[str, str] = {}
    pos, end, first = 0, len(value), True
    while pos < end:
        match = _TOKEN.match(value, pos)
        if match is None:
            comma = value.find(",", pos)
            if comma < 0:
                break
            pos, first = comma + 1, True
            continue
        name, raw, sep = match.groups()
        if first:
            params = metrics.setdefault(name, {}) if name not in metrics else {}
            first = False
        else:
            raw = raw or ""
            if raw.startswith('"'):
                raw = raw[1:-1]
                if "\\" in raw:
                    raw = _ESCAPE.sub(r"\1", raw)
            params.setdefault(name.lower(), raw)
        first = sep == ","
        pos = match.end()
        if not sep:
            break
    return metrics


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def timing_values(value: str | None) -> tuple[float, ...]:
    """The :data:`TIMING_COLUMNS` of one response, counts as floats; all nan without the
    header or without a ``total`` (a response the service did not time), each nan that
    the header lacks."""
    if not value:
        return _NONE
    metrics = parse_header(value)
    total = _float((metrics.get("total") or {}).get("dur"))
    if total is None:
        return _NONE
    durations = [_float((metrics.get(name) or {}).get("dur")) for name, _ in _DURATIONS[1:]]
    counts: list[float | None] = []
    for name in _COUNTED:
        match = _LEADING_INT.match((metrics.get(name) or {}).get("desc") or "")
        counts.append(float(match.group(1)) if match else None)
    return (total, *(math.nan if v is None else v for v in (*durations, *counts)))
