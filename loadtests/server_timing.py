"""A response's ``Server-Timing`` header as the sample columns the recorder writes.

The services answer with the handler's ``total`` and its ``db``, ``cache``, ``gateway``
and ``app`` parts in milliseconds, with the counts of statements, cache operations and
gateway calls (``serving.server_timing`` writes and parses the header). The recorder keeps
the raw header on its hot path and turns it into the server-side columns of
``rundir.samples.Sample`` when it writes its rows.
"""

from __future__ import annotations

import math
import re

from serving.server_timing import Metric, parse_header

# the server-side columns of a sample, in the order the samples file has them
TIMING_COLUMNS: tuple[str, ...] = (
    "server_total_ms", "db_ms", "cache_ms", "gateway_ms", "app_ms",
    "db_count", "cache_count", "gateway_count",
)
_PARTS = ("db", "cache", "gateway", "app")
_COUNTED = ("db", "cache", "gateway")
_NONE = (math.nan,) * len(TIMING_COLUMNS)
# The exact form ``serving.server_timing.format_header`` writes: read with one match (a
# few us) instead of the general parser (about 150 us a header); anything else, such as
# another service's header, goes through the general parser.
_NUM = r"(\d+(?:\.\d*)?)"
_OURS = re.compile(
    rf'db;dur={_NUM};desc="(\d+) quer(?:y|ies)", cache;dur={_NUM};desc="(\d+) ops?", '
    rf'gateway;dur={_NUM};desc="(\d+) calls?", app;dur={_NUM}, total;dur={_NUM}'
)


def _dur(metric: Metric | None) -> float:
    return metric.dur if metric is not None and metric.dur is not None else math.nan


def _count(metric: Metric | None) -> float:
    count = metric.count if metric is not None else None
    return float(count) if count is not None else math.nan


def timing_values(value: str | None) -> tuple[float, ...]:
    """The :data:`TIMING_COLUMNS` of one response, counts as floats: all nan without the
    header or without a ``total`` (a response the service did not time), and nan for
    each part the header lacks (a target of someone else's may send only some)."""
    if not value:
        return _NONE
    ours = _OURS.fullmatch(value)
    if ours is not None:
        db, n_db, cache, n_cache, gateway, n_gateway, app, total = map(float, ours.groups())
        return (total, db, cache, gateway, app, n_db, n_cache, n_gateway)
    metrics = parse_header(value)
    total = _dur(metrics.get("total"))
    if math.isnan(total):
        return _NONE
    return (total, *(_dur(metrics.get(p)) for p in _PARTS),
            *(_count(metrics.get(p)) for p in _COUNTED))
