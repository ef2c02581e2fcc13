"""A scenario file run with plain Locust: without API keys it refuses at start, in one line."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).with_name("locust")


class _Counter(http.server.BaseHTTPRequestHandler):
    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[tuple[str, type[_Counter]]]:
    """An HTTP server on 127.0.0.1 that counts the requests it gets."""
    handler = type("Counter", (_Counter,), {"hits": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _locust(scenario: str, host: str, keys: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    if keys is not None:
        env["PAYBENCH_API_KEYS"] = keys
    return subprocess.run(
        [str(LOCUST), "-f", f"loadtests/scenarios/{scenario}.py", "--headless", "-u", "2",
         "-r", "2", "-t", "2s", "--host", host, "--only-summary"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_missing_api_keys_stop_locust_at_start(
    counting_server: tuple[str, type[_Counter]],
) -> None:
    """No keys: exit 2 and one line naming PAYBENCH_API_KEYS, no traceback, no request sent."""
    host, counter = counting_server
    done = _locust("checkout", host, keys=None)
    assert done.returncode == 2, done.stderr
    said = [ln for ln in done.stderr.splitlines() if "PAYBENCH_API_KEYS" in ln]
    assert len(said) == 1, done.stderr
    assert "ERROR" in said[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert counter.hits == 0


def test_with_api_keys_the_same_command_sends_requests(
    counting_server: tuple[str, type[_Counter]],
) -> None:
    """With keys set the users run and reach the host (the check above is not vacuous)."""
    host, counter = counting_server
    done = _locust("checkout", host, keys="key_a,key_b")
    assert counter.hits > 0, done.stderr
    assert "PAYBENCH_API_KEYS is not set" not in done.stderr


def test_ping_needs_no_api_keys(counting_server: tuple[str, type[_Counter]]) -> None:
    """The ping scenario sends no merchant request, so it runs without keys."""
    host, counter = counting_server
    done = _locust("ping", host, keys=None)
    assert counter.hits > 0, done.stderr
    assert "PAYBENCH_API_KEYS" not in done.stderr


def test_harness_without_a_scenario_says_what_is_missing(
    counting_server: tuple[str, type[_Counter]],
) -> None:
    """The harness locustfile alone without PAYBENCH_SCENARIO exits 2 with one line naming
    it (not a traceback from Locust's pytest loader), before any request."""
    host, counter = counting_server
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    done = subprocess.run(
        [str(LOCUST), "-f", "loadtests/locustfiles/harness.py", "--headless", "-u", "1",
         "-t", "1s", "--host", host],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("paybench: PAYBENCH_SCENARIO is not set")
    assert counter.hits == 0
