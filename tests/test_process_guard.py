"""The suite's own check that tests leave no process: it finds orphans and children alike."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from tests.process_guard import left_by, suite_processes

# Starts a sleeper and exits at once: the sleeper is re-parented to PID 1 (an orphan).
ORPHANER = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
"""


def test_an_orphan_is_found_by_its_mark_and_killed() -> None:
    """A grandchild whose parent exited is still the suite's: reported, then killed."""
    before = suite_processes()
    done = subprocess.run([sys.executable, "-c", ORPHANER], capture_output=True, text=True,
                          check=True, timeout=30)
    orphan = psutil.Process(int(done.stdout))
    assert orphan.ppid() != psutil.Process().pid
    left = left_by(before)
    assert len(left) == 1
    assert f"pid {orphan.pid}:" in left[0]
    assert "time.sleep(120)" in left[0]
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE


def test_a_child_that_exits_in_time_is_not_reported() -> None:
    """A child still stopping when the test ends gets a grace period, and is then not reported."""
    before = suite_processes()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    started = time.monotonic()
    try:
        assert left_by(before) == []
    finally:
        child.wait()
    assert time.monotonic() - started >= 0.4


def test_a_child_under_the_suite_is_left_to_the_session_check() -> None:
    """A live child of pytest (a fixture's server) is no orphan; the session check sees it."""
    before_orphans = suite_processes(orphans_only=True)
    before_all = suite_processes()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert not any(k[0] == child.pid for k in suite_processes(orphans_only=True))
        assert left_by(before_orphans, orphans_only=True) == []
        left = left_by(before_all)
        assert len(left) == 1
        assert f"pid {child.pid}:" in left[0]
    finally:
        child.kill()
        child.wait()
