"""Pure statistics on benchmark samples: no I/O, numpy and scipy only.

Per trial: throughput over the measured window, latency percentiles from raw samples
(full precision, never Locust's rounded buckets), error ratio, CPU seconds per 1,000
requests. Across trials: the median with an order-statistic interval (as benchstat
does), the ratio between two targets with a bootstrap interval, and a Mann-Whitney U
test that says "not significant" rather than overclaim. Capacity: the knee of a load
sweep.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

FloatArray = npt.NDArray[np.float64]

# Percentiles every report shows; the key is used in results.json (p999 = p99.9).
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p999", 99.9),
)
ALPHA = 0.05


def as_array(values: npt.ArrayLike) -> FloatArray:
    """Finite float64 values only (NaN marks a missing figure and is dropped)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def latency_percentiles(latency_ms: npt.ArrayLike) -> dict[str, float]:
    """p50..p99.9, max and mean in ms from raw samples (numpy's linear interpolation)."""
    arr = np.asarray(latency_ms, dtype=np.float64)
    if arr.size == 0:
        out = {key: math.nan for key, _ in PERCENTILES}
        out.update(max=math.nan, mean=math.nan)
        return out
    values = np.percentile(arr, [q for _, q in PERCENTILES])
    out = {key: float(v) for (key, _), v in zip(PERCENTILES, values, strict=True)}
    out["max"] = float(arr.max())
    out["mean"] = float(arr.mean())
    return out


def measured_window(
    t_measured: npt.ArrayLike,
    *,
    started_at: float | None,
    ended_at: float | None,
    warmup_s: float | None,
    duration_s: float | None = None,
) -> tuple[float, float]:
    """The measured window [start, end] in epoch seconds.

    It begins when the warm-up ends and lasts ``duration_s``, or less when the trial
    ended earlier (an interrupted trial); ``ended_at`` alone would also count the
    seconds spent stopping the load generator. When timestamps are missing the span of
    the measured samples is used.
    """
    t = np.asarray(t_measured, dtype=np.float64)
    start = started_at + (warmup_s or 0.0) if started_at is not None else None
    end = ended_at
    if start is not None and duration_s is not None and duration_s > 0:
        planned = start + duration_s
        end = planned if end is None else min(end, planned)
        if ended_at is None and t.size:  # interrupted without an end time
            end = min(planned, float(t.max()))
    if start is None:
        start = float(t.min()) if t.size else math.nan
    if end is None:
        end = float(t.max()) if t.size else math.nan
    if not end > start and t.size >= 2:
        start, end = float(t.min()), float(t.max())
    return float(start), float(end)


def rate(count: int, window_s: float) -> float:
    """Events per second over a window; NaN for an empty or unknown window."""
    if not window_s > 0:
        return math.nan
    return count / window_s


def completions(
    t: npt.ArrayLike, latency_ms: npt.ArrayLike, ok: npt.ArrayLike, *, start: float, end: float
) -> tuple[int, int]:
    """(requests, successful requests) that *ended* inside ``[start, end)``.

    A request ends at its start plus its latency; whatever phase it started in, it is
    work the target did inside the window. This is what makes a completed rate bounded by
    the target's capacity, unlike a count of requests started in the window.
    """
    t_arr = np.asarray(t, dtype=np.float64)
    ends = t_arr + np.asarray(latency_ms, dtype=np.float64) / 1000.0
    inside = (ends >= start) & (ends < end)
    return int(inside.sum()), int((inside & (np.asarray(ok) != 0)).sum())


def latency_growth(t: npt.ArrayLike, latency_ms: npt.ArrayLike, *, start: float,
                   end: float) -> dict[str, float]:
    """Mean latency of the requests started in the first and in the last third of the
    window: a queue that grows through the window shows as ``last`` well above ``first``."""
    t_arr = np.asarray(t, dtype=np.float64)
    lat = np.asarray(latency_ms, dtype=np.float64)
    third = (end - start) / 3.0
    if not third > 0:
        return {"first_ms": math.nan, "last_ms": math.nan}
    first = lat[(t_arr >= start) & (t_arr < start + third)]
    last = lat[(t_arr >= end - third) & (t_arr < end)]
    return {"first_ms": float(first.mean()) if first.size else math.nan,
            "last_ms": float(last.mean()) if last.size else math.nan}


def cpu_by_role(
    *,
    t: npt.ArrayLike,
    role: Sequence[str] | npt.ArrayLike,
    pid: npt.ArrayLike,
    cpu_s: npt.ArrayLike,
    start: float,
    end: float,
) -> dict[str, float]:
    """CPU seconds each role used inside [start, end].

    ``cpu_s`` is cumulative per process; each process's counter is linearly
    interpolated at the window edges (clamped to its first/last sample, so a process
    that started inside the window counts from its first sample).
    """
    t_arr = np.asarray(t, dtype=np.float64)
    cpu = np.asarray(cpu_s, dtype=np.float64)
    pids = np.asarray(pid)
    roles = np.asarray(role, dtype=object)
    totals: dict[str, float] = {}
    for p in np.unique(pids):
        mask = pids == p
        order = np.argsort(t_arr[mask], kind="stable")
        pt, pc = t_arr[mask][order], cpu[mask][order]
        used = float(np.interp(end, pt, pc) - np.interp(start, pt, pc))
        name = str(roles[mask][0])
        totals[name] = totals.get(name, 0.0) + max(used, 0.0)
    return totals


def per_thousand(value: float, requests: int) -> float:
    """``value`` per 1,000 requests (NaN when there were none)."""
    return value * 1000.0 / requests if requests > 0 else math.nan


@dataclass(frozen=True)
class Interval:
    """A median with its interval; ``confidence`` is the coverage actually achieved."""

    median: float
    low: float
    high: float
    confidence: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready form."""
        return {"median": self.median, "low": self.low, "high": self.high,
                "confidence": self.confidence, "n": self.n}


def median_interval(values: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Median and a distribution-free order-statistic interval (benchstat's method).

    The interval [x_(j), x_(n+1-j)] covers the true median with probability
    1 - 2 * P(Binomial(n, 1/2) < j). The narrowest j reaching ``confidence`` is
    chosen; with too few values (n < 6 at 95%) the interval is [min, max] and
    ``confidence`` reports the lower coverage it really has.
    """
    arr = np.sort(as_array(values))
    n = int(arr.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0.0, 0)
    median = float(np.median(arr))
    if n == 1:
        return Interval(median, median, median, 0.0, 1)
    best_j, best_cov = _order_statistic_rank(n, confidence)
    return Interval(median, float(arr[best_j - 1]), float(arr[n - best_j]), best_cov, n)


@functools.lru_cache(maxsize=256)
def _order_statistic_rank(n: int, confidence: float) -> tuple[int, float]:
    """Largest j whose interval [x_(j), x_(n+1-j)] reaches ``confidence`` (at least 1)."""
    best_j, best_cov = 1, 1.0 - 2.0 * float(sps.binom.cdf(0, n, 0.5))
    for j in range(2, n // 2 + 1):
        cov = 1.0 - 2.0 * float(sps.binom.cdf(j - 1, n, 0.5))
        if cov < confidence:
            break
        best_j, best_cov = j, cov
    return best_j, best_cov


@dataclass(frozen=True)
class Ratio:
    """``median(a) / median(b)`` with a bootstrap interval (NaN when not computable)."""

    ratio: float
    low: float
    high: float
    confidence: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {"ratio": self.ratio, "low": self.low, "high": self.high,
                "confidence": self.confidence}


def _median_ratio(x: FloatArray, y: FloatArray, axis: int = -1) -> Any:
    return np.median(x, axis=axis) / np.median(y, axis=axis)


def ratio_interval(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    n_resamples: int = 4999,
    seed: int = 0,
) -> Ratio:
    """Ratio of medians a/b with a percentile bootstrap interval (``scipy.stats.bootstrap``).

    The percentile method is used because BCa is undefined on the handful of trials a
    benchmark has (its jackknife degenerates); resampling is seeded so reports are
    reproducible.
    """
    x, y = as_array(a), as_array(b)
    if x.size == 0 or y.size == 0 or float(np.median(y)) == 0.0:
        return Ratio(math.nan, math.nan, math.nan, confidence)
    point = float(np.median(x) / np.median(y))
    if x.size < 2 or y.size < 2:
        return Ratio(point, math.nan, math.nan, confidence)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        res = sps.bootstrap(
            (x, y),
            _median_ratio,
            paired=False,
            vectorized=True,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Ratio(point, low, high, confidence)


@dataclass(frozen=True)
class Significance:
    """Outcome of a two-sided Mann-Whitney U test between two sets of trials."""

    p_value: float
    significant: bool
    reason: str  # "significant", "not significant" or "too few trials"
    n_a: int
    n_b: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"p_value": self.p_value, "significant": self.significant,
                "reason": self.reason, "n_a": self.n_a, "n_b": self.n_b}


def min_p_value(n_a: int, n_b: int) -> float:
    """Smallest two-sided exact Mann-Whitney p-value possible with these sample sizes."""
    if n_a == 0 or n_b == 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def mann_whitney(
    a: npt.ArrayLike, b: npt.ArrayLike, alpha: float = ALPHA
) -> Significance:
    """Two-sided Mann-Whitney U test; never "significant" when the sizes cannot reach alpha."""
    x, y = as_array(a), as_array(b)
    if min_p_value(x.size, y.size) >= alpha:
        p = math.nan
        if x.size and y.size:
            p = _mwu_p(x, y)
        return Significance(p, False, "too few trials", int(x.size), int(y.size))
    p = _mwu_p(x, y)
    significant = p < alpha
    reason = "significant" if significant else "not significant"
    return Significance(p, significant, reason, int(x.size), int(y.size))


def _mwu_p(x: FloatArray, y: FloatArray) -> float:
    if np.all(x == x[0]) and np.all(y == x[0]):
        return 1.0  # identical samples: scipy would warn about a degenerate statistic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class Step:
    """One step of a load sweep, aggregated over its trials."""

    offered: float
    achieved: float
    p99_ms: float
    error_ratio: float


@dataclass(frozen=True)
class Knee:
    """Where a sweep stops scaling, and the best throughput that still meets the SLO."""

    index: int | None  # position in the steps list; None when no step broke
    offered: float | None
    reason: str
    max_sustainable: float  # NaN when no step meets the SLO
    max_sustainable_offered: float | None


def find_knee(
    steps: Sequence[Step],
    *,
    slo_p99_ms: float,
    max_error_ratio: float,
    tolerance: float = 0.1,
    min_growth: float = 0.05,
    offered_is_rate: bool = True,
) -> Knee:
    """First step that breaks: achieved < offered*(1-tolerance) (open model only, where
    ``offered`` is a rate), p99 above the SLO, errors above the threshold, or throughput
    growing less than ``min_growth`` over the previous step. Steps are sorted by offered.
    """
    ordered = sorted(steps, key=lambda s: s.offered)
    knee_index: int | None = None
    reason = "no knee within the sweep"
    for i, step in enumerate(ordered):
        why = ""
        if offered_is_rate and step.achieved < step.offered * (1.0 - tolerance):
            why = (f"achieved {step.achieved:.1f} req/s < offered {step.offered:g} "
                   f"x {1 - tolerance:g}")
        elif step.p99_ms > slo_p99_ms:
            why = f"p99 {step.p99_ms:.1f} ms > SLO {slo_p99_ms:g} ms"
        elif step.error_ratio > max_error_ratio:
            why = f"error ratio {step.error_ratio:.2%} > {max_error_ratio:.2%}"
        elif i > 0 and step.achieved < ordered[i - 1].achieved * (1.0 + min_growth):
            why = (f"throughput stopped growing ({ordered[i - 1].achieved:.1f} -> "
                   f"{step.achieved:.1f} req/s)")
        if why:
            knee_index, reason = i, why
            break
    ok = [s for s in ordered if s.p99_ms <= slo_p99_ms and s.error_ratio <= max_error_ratio]
    best = max(ok, key=lambda s: s.achieved) if ok else None
    return Knee(
        index=knee_index,
        offered=ordered[knee_index].offered if knee_index is not None else None,
        reason=reason,
        max_sustainable=best.achieved if best else math.nan,
        max_sustainable_offered=best.offered if best else None,
    )


def spectrum_quantiles(count: int, points: int = 80) -> FloatArray:
    """Quantiles evenly spaced on the log of 1/(1-q), from 0 up to 1 - 1/count."""
    top = max(float(count), 10.0)
    x = np.logspace(0.0, math.log10(top), points)
    return np.asarray(1.0 - 1.0 / x, dtype=np.float64)


def hdr_buckets(hist: Any) -> tuple[FloatArray, FloatArray]:
    """(highest equivalent value, count) of every non-empty bucket of an HDR histogram.

    Vectorised over hdrh's counts array with the index arithmetic of
    ``HdrHistogram.get_value_from_index``; hdrh's own percentile lookup walks the array
    in Python once per percentile, which is too slow for a spectrum.
    """
    counts = np.asarray(hist.counts[: hist.counts_len], dtype=np.float64)
    index = np.nonzero(counts)[0]
    half_mag = int(hist.sub_bucket_half_count_magnitude)
    half = int(hist.sub_bucket_half_count)
    unit = int(hist.unit_magnitude)
    bucket = (index >> half_mag) - 1
    sub = (index & (half - 1)) + half
    low_bucket = bucket < 0
    sub[low_bucket] -= half
    bucket[low_bucket] = 0
    lowest = sub.astype(np.int64) << (bucket + unit)
    highest = lowest + (np.int64(1) << (bucket + unit)) - 1
    return highest.astype(np.float64), counts[index]


def counts_spectrum(values: FloatArray, counts: FloatArray,
                    points: int = 80) -> tuple[FloatArray, FloatArray]:
    """(quantiles, values) of a weighted sample, using HDR's rule for the percentile rank."""
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    total = float(counts.sum())
    if total <= 0:
        return np.empty(0), np.empty(0)
    q = spectrum_quantiles(int(total), points)
    cum = np.cumsum(counts)
    target = np.maximum(np.floor(q * total + 0.5), 1.0)
    idx = np.minimum(np.searchsorted(cum, target, side="left"), values.size - 1)
    return q, values[idx]


def hdr_spectrum(*hists: Any, points: int = 80) -> tuple[FloatArray, FloatArray]:
    """(quantiles, latency ms) of one or more HDR histograms recorded in microseconds."""
    parts = [hdr_buckets(h) for h in hists]
    if not parts:
        return np.empty(0), np.empty(0)
    values = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    q, us = counts_spectrum(values, counts, points)
    return q, us / 1000.0


def raw_spectrum(latency_ms: npt.ArrayLike, points: int = 80) -> tuple[FloatArray, FloatArray]:
    """(quantiles, latency ms) from raw samples, for trials without an HDR file."""
    arr = np.asarray(latency_ms, dtype=np.float64)
    if arr.size == 0:
        return np.empty(0), np.empty(0)
    q = spectrum_quantiles(int(arr.size), points)
    return q, np.quantile(arr, q)
