"""The Server-Timing header as sample columns: parsed, written, merged and read back."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from loadtests.merge import merge_trial
from loadtests.open_model import TrialClock
from loadtests.recorder import CLIENT_FIELDS, Recorder, RecorderSettings
from loadtests.server_timing import TIMING_COLUMNS, timing_values
from payments.timing import EffectTimes
from reports import anatomy
from reports.load import read_samples
from rundir.samples import SAMPLE_HEADER
from serving.server_timing import format_header, parse_parts

HEADER = ('db;dur=1.234;desc="3 queries", cache;dur=0.210;desc="2 ops", '
          'gateway;dur=51.002;desc="1 call", app;dur=0.812, total;dur=53.258')


def test_columns_of_a_response() -> None:
    """The header gives total, parts and counts, in the samples file's column order;
    without it, or without a total, every column is missing; a part or count it lacks is
    missing alone."""
    assert SAMPLE_HEADER[CLIENT_FIELDS:] == TIMING_COLUMNS
    assert timing_values(HEADER) == (53.258, 1.234, 0.21, 51.002, 0.812, 3.0, 2.0, 1.0)
    assert all(math.isnan(v) for v in timing_values(None))
    assert all(math.isnan(v) for v in timing_values("db;dur=1"))
    partial = timing_values('total;dur=9.5, db;dur=2;desc="no count"')
    assert partial[:2] == (9.5, 2.0)
    assert all(math.isnan(v) for v in partial[2:])


@pytest.mark.parametrize("times", [
    (0, 0, 0, 0, 0, 0, 0.0), (1, 1, 1, 0.001, 0.0002, 0.05, 0.06),
    (3, 2, 2, 0.0123, 0.0011, 0.1021, 0.2), (9, 0, 0, 1.5, 0, 0, 0.4),
])
def test_the_services_own_header_reads_as_the_general_parser_reads_it(
    times: tuple[int, int, int, float, float, float, float],
) -> None:
    """Every header the services write (singular and plural counts, zeros, app clamped at 0)
    gives the same columns through the fast reading as through the general parser."""
    n_db, n_cache, n_gateway, db, cache, gateway, total = times
    effect = EffectTimes()
    effect.db_n, effect.cache_n, effect.gateway_n = n_db, n_cache, n_gateway
    effect.db_s, effect.cache_s, effect.gateway_s = db, cache, gateway
    value = format_header(effect, total)
    parts = parse_parts(value)
    assert timing_values(value) == (
        parts.total_ms, parts.db_ms, parts.cache_ms, parts.gateway_ms, parts.app_ms,
        float(parts.db_count), float(parts.cache_count), float(parts.gateway_count),
    )


def test_recorded_timing_reaches_the_report(tmp_path: Path) -> None:
    """A request recorded with the header keeps its parts through the merge and reads back
    as numbers; one without reads back as missing; the anatomy's queue is the client's
    latency minus the server's total."""
    parts = tmp_path / "parts"
    settings = RecorderSettings(parts_dir=parts, warmup_s=0.0, duration_s=10.0)
    rec = Recorder(settings, "local")
    rec.begin(TrialClock(100.0, 0.0, 10.0, drain_s=1.0))
    rec.record(t=101.0, name="POST /v1/payments", method="POST", latency_ms=80.0,
               status=201, ok=True, server_timing=HEADER)
    rec.record(t=102.0, name="GET /ping", method="GET", latency_ms=2.0, status=200, ok=True)
    rec.close(role="local")
    merge_trial(parts, tmp_path)
    frame = read_samples(tmp_path / "samples.csv.gz")
    assert tuple(frame.columns) == SAMPLE_HEADER
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["server_total_ms"] == pytest.approx(53.258)
    assert first["db_count"] == 3
    assert all(math.isnan(second[c]) for c in TIMING_COLUMNS)
    timed = anatomy.timed(frame)
    assert len(timed) == 1
    assert timed["queue"].iloc[0] == pytest.approx(80.0 - 53.258)
