"""Under gunicorn sync workers the shim serves one request at a time per worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from vyked_servers import start_gunicorn

SLOW_S = 0.4


@pytest.fixture(scope="module")
def gunicorn_one_worker() -> Iterator[str]:
    """Base URL of the sample app under gunicorn with one sync worker."""
    base_url, stop = start_gunicorn("vyked_sample_app:create_app()", workers=1)
    yield base_url
    stop()


def _slow(base_url: str) -> dict[str, Any]:
    answer = httpx.get(base_url + "/sleep", params={"seconds": str(SLOW_S)}, timeout=10)
    assert answer.status_code == 200
    data: dict[str, Any] = answer.json()
    return data


def _pair(base_url: str) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_slow, [base_url, base_url]))
    return time.perf_counter() - started, results


def _overlap(results: list[dict[str, Any]]) -> bool:
    first, second = sorted(results, key=lambda r: r["started"])
    return bool(second["started"] < first["ended"])


def test_one_worker_serialises_concurrent_requests(gunicorn_one_worker: str) -> None:
    """With workers=1, two concurrent slow requests run one after the other (~2x one)."""
    _slow(gunicorn_one_worker)  # warm the worker so both timed requests find it idle
    elapsed, results = _pair(gunicorn_one_worker)
    assert not _overlap(results)
    assert results[0]["pid"] == results[1]["pid"]
    durations = [r["ended"] - r["started"] for r in results]
    # The pair takes the sum of both handler times, i.e. about twice one request.
    assert elapsed >= 0.95 * sum(durations)
    assert elapsed >= 1.8 * min(durations)


def test_two_workers_serve_two_requests_at_once() -> None:
    """With workers=2 the same pair overlaps: the limit is per worker, not per server."""
    base_url, stop = start_gunicorn("vyked_sample_app:create_app()", workers=2)
    try:
        # Both workers must be up before the pair can overlap; retry while one still boots.
        for _ in range(10):
            elapsed, results = _pair(base_url)
            if _overlap(results):
                break
        assert _overlap(results)
        assert results[0]["pid"] != results[1]["pid"]
        # Overlapping handler intervals are the proof; wall time is only loosely
        # bounded because the machine may be busy with other test runs.
        assert elapsed < 2 * SLOW_S + 1.0
    finally:
        stop()
