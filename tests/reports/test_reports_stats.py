"""Statistics against known inputs and on synthetic data with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from reports import stats


def test_percentiles_exact_on_known_input() -> None:
    """Percentiles of 1..100 equal numpy's linear interpolation, max and mean are exact."""
    values = np.arange(1, 101, dtype=float)
    p = stats.latency_percentiles(values)
    assert p["p50"] == pytest.approx(50.5)
    assert p["p90"] == pytest.approx(90.1)
    assert p["p99"] == pytest.approx(99.01)
    assert p["p999"] == pytest.approx(99.901)
    assert p["max"] == 100.0
    assert p["mean"] == pytest.approx(50.5)


def test_percentiles_of_empty_input_are_nan() -> None:
    """No samples gives NaN, never zero."""
    p = stats.latency_percentiles([])
    assert all(math.isnan(v) for v in p.values())


def test_measured_window_starts_after_warmup() -> None:
    """The window runs from started_at + warmup_s to ended_at."""
    assert stats.measured_window([5.0, 6.0], started_at=100.0, ended_at=112.0,
                                 warmup_s=2.0) == (102.0, 112.0)


def test_measured_window_lasts_duration_not_until_teardown() -> None:
    """Seconds spent stopping the generator after the planned duration are not measured."""
    assert stats.measured_window([5.0], started_at=100.0, ended_at=125.0, warmup_s=2.0,
                                 duration_s=10.0) == (102.0, 112.0)
    assert stats.measured_window([105.0, 107.5], started_at=100.0, ended_at=None,
                                 warmup_s=2.0, duration_s=10.0) == (102.0, 107.5)


def test_measured_window_falls_back_to_samples() -> None:
    """Without timestamps (an interrupted trial) the span of the samples is used."""
    assert stats.measured_window([5.0, 9.0, 7.0], started_at=None, ended_at=None,
                                 warmup_s=None) == (5.0, 9.0)


def test_cpu_by_role_interpolates_cumulative_counters() -> None:
    """Two processes at 0.5 and 1 CPU-s/s over a 4 s window give 2 s and 4 s."""
    t = np.array([0.0, 10.0, 0.0, 10.0])
    cpu = np.array([0.0, 5.0, 100.0, 110.0])
    got = stats.cpu_by_role(t=t, role=["engine", "engine", "postgres", "postgres"],
                            pid=[1, 1, 2, 2], cpu_s=cpu, start=3.0, end=7.0)
    assert got == {"engine": pytest.approx(2.0), "postgres": pytest.approx(4.0)}


def test_cpu_by_role_sums_processes_of_one_role() -> None:
    """Workers of the same role add up."""
    got = stats.cpu_by_role(t=[0.0, 2.0, 0.0, 2.0], role=["legacy"] * 4, pid=[1, 1, 2, 2],
                            cpu_s=[0.0, 2.0, 0.0, 2.0], start=0.0, end=2.0)
    assert got["legacy"] == pytest.approx(4.0)


def test_median_interval_order_statistics_for_ten_values() -> None:
    """With n=10 the 95% interval is [x(2), x(9)] with coverage 1 - 2*11/1024."""
    iv = stats.median_interval(np.arange(10, dtype=float))
    assert (iv.median, iv.low, iv.high) == (4.5, 1.0, 8.0)
    assert iv.confidence == pytest.approx(1 - 2 * 11 / 1024)


def test_median_interval_with_few_values_reports_true_coverage() -> None:
    """With 3 values the interval is min-max and its coverage is 75%, not 95%."""
    iv = stats.median_interval([3.0, 1.0, 2.0])
    assert (iv.median, iv.low, iv.high) == (2.0, 1.0, 3.0)
    assert iv.confidence == pytest.approx(0.75)


def test_median_interval_coverage_on_synthetic_data() -> None:
    """Over 2,000 samples of 12 draws the interval covers the true median at least 95%."""
    rng = np.random.default_rng(1)
    true_median = math.exp(3.0)  # log-normal(3, 0.5)
    hits = 0
    reps = 2000
    for _ in range(reps):
        iv = stats.median_interval(rng.lognormal(3.0, 0.5, 12))
        hits += iv.low <= true_median <= iv.high
    assert hits / reps >= 0.94


def test_ratio_interval_coverage_on_synthetic_data() -> None:
    """The bootstrap interval of a ratio of medians covers the true ratio most of the time."""
    rng = np.random.default_rng(2)
    true_ratio = 3.0
    reps, hits = 120, 0
    for i in range(reps):
        a = rng.normal(300.0, 15.0, 10)
        b = rng.normal(100.0, 5.0, 10)
        r = stats.ratio_interval(a, b, n_resamples=999, seed=i)
        hits += r.low <= true_ratio <= r.high
    # percentile bootstrap on n=10 under-covers slightly; 85% is a loose floor
    assert hits / reps >= 0.85


def test_ratio_interval_point_and_degenerate_cases() -> None:
    """The point is median(a)/median(b); one value per side gives no interval."""
    r = stats.ratio_interval([10.0, 20.0, 30.0], [5.0, 10.0, 15.0])
    assert r.ratio == pytest.approx(2.0)
    assert r.low <= 2.0 <= r.high
    single = stats.ratio_interval([10.0], [5.0])
    assert single.ratio == pytest.approx(2.0)
    assert math.isnan(single.low)
    assert math.isnan(stats.ratio_interval([], [1.0]).ratio)


def test_mann_whitney_not_significant_for_one_distribution() -> None:
    """Two samples from one distribution are rarely called different (false positives <~5%)."""
    rng = np.random.default_rng(3)
    reps = 300
    positives = sum(stats.mann_whitney(rng.normal(100, 10, 8), rng.normal(100, 10, 8))
                    .significant for _ in range(reps))
    assert positives / reps <= 0.08
    one = stats.mann_whitney(rng.normal(100, 10, 8), rng.normal(100, 10, 8))
    assert one.reason in ("not significant", "significant")


def test_mann_whitney_significant_when_distributions_differ() -> None:
    """Clearly shifted samples of 6 trials each are significant."""
    rng = np.random.default_rng(4)
    sig = stats.mann_whitney(rng.normal(200, 10, 6), rng.normal(100, 10, 6))
    assert sig.significant
    assert sig.reason == "significant"
    assert sig.p_value < 0.05


def test_mann_whitney_too_few_trials_is_never_significant() -> None:
    """3 vs 3 trials cannot reach p < 0.05 two-sided, however large the difference."""
    sig = stats.mann_whitney([1000.0, 1001.0, 1002.0], [1.0, 2.0, 3.0])
    assert not sig.significant
    assert sig.reason == "too few trials"
    assert stats.min_p_value(3, 3) == pytest.approx(0.1)
    assert stats.min_p_value(4, 4) < 0.05


def test_mann_whitney_identical_values() -> None:
    """Identical values give p = 1 and no warning."""
    sig = stats.mann_whitney([5.0] * 5, [5.0] * 5)
    assert sig.p_value == 1.0
    assert not sig.significant


def _steps(rows: list[tuple[float, float, float, float]]) -> list[stats.Step]:
    return [stats.Step(*row) for row in rows]


def test_knee_where_achieved_falls_below_offered() -> None:
    """The knee is the first step whose achieved rate is below offered x (1 - tolerance)."""
    knee = stats.find_knee(_steps([(50, 50, 20, 0), (100, 99, 25, 0), (200, 150, 40, 0),
                                   (400, 160, 900, 0)]), slo_p99_ms=500, max_error_ratio=0.01)
    assert knee.offered == 200
    assert "achieved" in knee.reason
    assert knee.max_sustainable == 150  # p99 still under the SLO at 200


def test_knee_on_p99_slo() -> None:
    """A step whose p99 exceeds the SLO is the knee; max sustainable is below it."""
    knee = stats.find_knee(_steps([(50, 50, 100, 0), (100, 100, 300, 0), (150, 149, 800, 0)]),
                           slo_p99_ms=500, max_error_ratio=0.01)
    assert knee.offered == 150
    assert "SLO" in knee.reason
    assert knee.max_sustainable == 100
    assert knee.max_sustainable_offered == 100


def test_knee_on_errors() -> None:
    """An error ratio above the threshold makes the knee."""
    knee = stats.find_knee(_steps([(10, 10, 50, 0.0), (20, 20, 60, 0.05)]), slo_p99_ms=500,
                           max_error_ratio=0.01)
    assert knee.offered == 20
    assert "error" in knee.reason


def test_knee_when_throughput_stops_growing_in_closed_model() -> None:
    """With users as offered load, a plateau in throughput is the knee."""
    knee = stats.find_knee(_steps([(10, 100, 50, 0), (20, 190, 60, 0), (40, 192, 120, 0)]),
                           slo_p99_ms=500, max_error_ratio=0.01, offered_is_rate=False)
    assert knee.offered == 40
    assert "stopped growing" in knee.reason


def test_no_knee_and_unsorted_steps() -> None:
    """Steps are sorted by offered load; a sweep that scales has no knee."""
    knee = stats.find_knee(_steps([(200, 200, 40, 0), (100, 100, 30, 0)]), slo_p99_ms=500,
                           max_error_ratio=0.01)
    assert knee.index is None
    assert knee.max_sustainable == 200


def test_hdr_spectrum_matches_raw_samples() -> None:
    """The HDR spectrum agrees with raw quantiles within the histogram's precision."""
    rng = np.random.default_rng(5)
    lat = rng.lognormal(3.0, 0.6, 20_000)
    hist = HdrHistogram(1, 60_000_000, 3)
    for v in np.rint(lat * 1000).astype(int):
        hist.record_value(int(v))
    q, values = stats.hdr_spectrum(hist)
    q_raw, raw = stats.raw_spectrum(lat)
    assert q[0] == 0.0
    assert q[-1] == pytest.approx(1 - 1 / 20_000)
    np.testing.assert_allclose(q, q_raw)
    mid = len(q) // 2
    assert values[mid] == pytest.approx(raw[mid], rel=0.01)
