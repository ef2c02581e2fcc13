"""Waiting for the targets to be idle before a trial starts.

When the load generator stops, an overloaded target keeps serving the
requests already queued in front of it (a sync worker's listen backlog can
hold tens of seconds of work). A trial started then would measure the
previous trial's backlog, and a reset of the tables would race with those
late writes. So before each trial every target must answer ``GET /ping``
quickly a few times in a row: only then is it back to the same starting
state. The time this took is recorded in trial.json.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx


class StillBusy(TimeoutError):
    """A target did not become idle within the allowed time."""


def wait_until_idle(
    url: str,
    *,
    quiet_ms: float = 100.0,
    probes: int = 3,
    timeout_s: float = 120.0,
) -> float:
    """Seconds until ``GET {url}/ping`` answered 200 within ``quiet_ms``, ``probes`` times in a row.

    Raises ``StillBusy`` after ``timeout_s``.
    """
    started = time.monotonic()
    in_a_row = 0
    with httpx.Client(trust_env=False) as client:
        while in_a_row < probes:
            left = timeout_s - (time.monotonic() - started)
            if left <= 0:
                raise StillBusy(f"{url} was still busy after {timeout_s:.0f} s")
            sent = time.monotonic()
            try:
                resp = client.get(f"{url}/ping", timeout=left)
                quick = resp.status_code == 200 and (time.monotonic() - sent) * 1000 < quiet_ms
            except httpx.HTTPError:
                quick = False
                time.sleep(0.2)
            in_a_row = in_a_row + 1 if quick else 0
    return time.monotonic() - started


def wait_for_all(urls: Mapping[str, str], timeout_s: float = 120.0) -> float:
    """Wait until every target is idle (they share the machine's cores); total seconds."""
    started = time.monotonic()
    for url in urls.values():
        remaining = max(1.0, timeout_s - (time.monotonic() - started))
        wait_until_idle(url, timeout_s=remaining)
    return time.monotonic() - started
