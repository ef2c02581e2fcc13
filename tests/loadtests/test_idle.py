"""Targets are idle before a trial: a backlog from the previous trial is waited out."""

from __future__ import annotations

import time

import httpx
import pytest

from loadtests.idle import StillBusy, wait_for_all, wait_until_idle
from tests.loadtests.servers import stall_server


def test_idle_target_is_ready_at_once() -> None:
    """A target that answers /ping quickly needs no wait."""
    with stall_server() as url:
        assert wait_until_idle(url) < 1.0


def test_busy_target_is_waited_out() -> None:
    """A target still busy (stalled for 1.5 s) is only ready once it answers quickly again."""
    with stall_server(stall_after_s=0.0, stall_s=1.5) as url:
        httpx.get(f"{url}/ping", timeout=5)  # arms the stall
        time.sleep(0.05)
        waited = wait_for_all({"a": url})
    assert waited >= 1.2


def test_target_that_stays_busy_is_reported() -> None:
    """A target that does not become idle in time raises StillBusy naming it."""
    with stall_server(stall_after_s=0.0, stall_s=3.0) as url:
        httpx.get(f"{url}/ping", timeout=5)
        time.sleep(0.05)
        with pytest.raises(StillBusy, match="still busy"):
            wait_until_idle(url, timeout_s=1.0)
