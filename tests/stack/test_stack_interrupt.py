"""A signal during start-up of embedded servers and services leaves nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stack.services import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.embedded,
              pytest.mark.skipif(sys.platform != "linux", reason="child subreapers are Linux's")]


@pytest.mark.parametrize(
    ("sig", "phase", "delay_s"),
    [
        ("SIGTERM", "initdb", 0.2),  # initdb's bootstrap postgres still writing the data dir
        ("SIGTERM", "initdb", 0.5),
        ("SIGTERM", "bin/postgres -D", 0.0),  # the server started, not yet ready
        ("SIGTERM", "redis-server", 0.0),
        ("SIGTERM", "-m engine", 0.1),  # a service between its metrics dir and gunicorn
        ("SIGHUP", "initdb", 0.2),  # a closed terminal: nobody asked for a handler
    ],
)
def test_signal_during_start_up_leaves_no_directory_or_process(
    sig: str, phase: str, delay_s: float
) -> None:
    """`paybench up` signalled mid-start says stopped, and no temp dir or process remains."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.stack.interrupt_probe", sig, phase, str(delay_s)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    report = json.loads(done.stdout)
    assert report["phase_seen"], report["output"]
    assert report["left_files"] == [], report
    assert report["left_processes"] == [], report
    assert report["returncode"] == 0, report["output"]
    assert "stopped." in report["output"]
