"""The supervisor: health waits, dead children, and stopping whole process trees."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from stack.errors import HealthTimeout, ProcessDied
from stack.processes import Supervisor, free_port, port_is_free

PY = sys.executable

# Prints the pids of a grandchild in its group and one in a session of its own, then idles.
SPAWNER = """
import os, subprocess, sys, time
same = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
escaped = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                           start_new_session=True)
print(same.pid, escaped.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for_line(path: Path, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("---")]
        if lines:
            return lines[0]
        time.sleep(0.05)
    raise AssertionError(f"nothing written to {path}")


def test_http_server_becomes_healthy_and_its_port_is_freed(log_dir: Path) -> None:
    """A real HTTP child passes the health wait and its port is free after stop."""
    port = free_port()
    with Supervisor(log_dir, grace_s=5) as sup:
        proc = sup.start("web", [PY, "-m", "http.server", "--bind", "127.0.0.1", str(port)])
        sup.wait_for_http("web", f"http://127.0.0.1:{port}/", timeout_s=15)
        sup.check_alive()
        assert not port_is_free(port)
    assert _gone(proc.pid)
    assert port_is_free(port)
    assert (log_dir / "web.log").exists()


def test_stop_kills_grandchildren_in_group_and_escaped_sessions(log_dir: Path) -> None:
    """Stopping a child leaves no orphan: neither a grandchild nor one that called setsid."""
    with Supervisor(log_dir, grace_s=2) as sup:
        proc = sup.start("spawner", [PY, "-c", SPAWNER])
        same, escaped = (int(x) for x in _wait_for_line(log_dir / "spawner.log").split())
        assert psutil.pid_exists(same)
        assert psutil.pid_exists(escaped)
    assert _gone(proc.pid)
    assert _gone(same)
    assert _gone(escaped)


def test_child_ignoring_sigterm_is_killed_after_grace(log_dir: Path) -> None:
    """A child that ignores SIGTERM is SIGKILLed once the grace period ends."""
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
           "print('ready', flush=True); time.sleep(600)"
    sup = Supervisor(log_dir, grace_s=0.5)
    proc = sup.start("stubborn", [PY, "-c", code])
    _wait_for_line(log_dir / "stubborn.log")
    started = time.monotonic()
    sup.stop_all()
    assert time.monotonic() - started < 5
    assert _gone(proc.pid)


def test_keyboard_interrupt_stops_children(log_dir: Path) -> None:
    """Ctrl-C (KeyboardInterrupt) inside the block still stops every child."""
    pids: list[int] = []

    def interrupted_run() -> None:
        with Supervisor(log_dir, grace_s=2) as sup:
            pids.append(sup.start("a", [PY, "-c", "import time; time.sleep(600)"]).pid)
            pids.append(sup.start("b", [PY, "-c", "import time; time.sleep(600)"]).pid)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()
    assert all(_gone(pid) for pid in pids)


def test_dying_child_is_named_with_its_log_tail(log_dir: Path) -> None:
    """A child that exits during the health wait fails fast, by name, with its last output."""
    code = "import sys; print('cannot bind: boom-marker', flush=True); sys.exit(3)"
    with Supervisor(log_dir, grace_s=2) as sup:
        sup.start("engine", [PY, "-c", code])
        started = time.monotonic()
        with pytest.raises(ProcessDied) as info:
            sup.wait_for_http("engine", f"http://127.0.0.1:{free_port()}/health", timeout_s=30)
        assert time.monotonic() - started < 10
        assert info.value.name == "engine"
        assert info.value.returncode == 3
        assert "boom-marker" in info.value.log_tail
        assert "engine" in str(info.value)
        with pytest.raises(ProcessDied, match="engine"):
            sup.check_alive()


def test_health_timeout_reports_last_error(log_dir: Path) -> None:
    """A child that never answers makes the health wait time out with a clear reason."""
    with Supervisor(log_dir, grace_s=2) as sup:
        sup.start("mute", [PY, "-c", "import time; time.sleep(600)"])
        url = f"http://127.0.0.1:{free_port()}/health"
        with pytest.raises(HealthTimeout) as info:
            sup.wait_for_http("mute", url, timeout_s=0.5)
        assert info.value.name == "mute"
        assert info.value.url == url
        assert "Connection refused" in info.value.last_error or "Errno" in info.value.last_error
