"""Replace a worker that died, as gunicorn's arbiter does for the other two services.

Sanic's worker manager notices a dead worker (it marks it ``FAILED``) but
leaves it dead: a worker killed by the OOM killer, a segfault in a C
extension or a stray ``kill -9`` would halve the service's capacity until
someone restarted it. The watchdog is a thread of the manager process that
asks the manager to restart such a worker through the manager's own monitor
channel (the message ``app.m.restart()`` sends from a worker), so the
restart itself is Sanic's. A worker that exited with status 0 stopped on
purpose (shutdown, scale-down) and is left alone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from prometheus_client import multiprocess
from sanic.worker.manager import WorkerManager

log = logging.getLogger("sanic_service.watchdog")

MIN_RESTART_GAP_S = 1.0  # a worker that dies at start-up is not restarted in a tight loop


class Watchdog:
    """Polls the manager's server processes; one per manager process."""

    def __init__(self, manager: WorkerManager, interval_s: float = 0.2) -> None:
        self._manager = manager
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._asked: dict[str, tuple[int, float]] = {}  # name -> (dead pid, when asked)
        self._thread = threading.Thread(target=self._run, name="worker-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.check()
            except Exception:  # the manager is shutting down under us; nothing to do
                if self._stop.is_set():
                    return
                log.exception("worker watchdog check failed")

    def check(self) -> None:
        """Ask for a restart of every server process that died with a non-zero status."""
        if self._manager._shutting_down:  # Sanic's own flag, set on SIGINT/SIGTERM
            self._stop.set()
            return
        now = time.monotonic()
        for process in list(self._manager.transient_processes):
            code = _exitcode(process)
            if code is None or code == 0:
                continue
            pid = process.pid
            asked = self._asked.get(process.name)
            if asked is not None and (asked[0] == pid or now - asked[1] < MIN_RESTART_GAP_S):
                continue  # already asked for this death, or too soon after the last one
            self._asked[process.name] = (pid, now)
            log.warning("worker died; restarting it",
                        extra={"worker": process.name, "pid": pid, "exitcode": code})
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
            self._manager.monitor_publisher.send(f"{process.name}:")


def _exitcode(process: Any) -> int | None:
    """The exit status of a dead process, None while it runs (or has not started)."""
    try:
        if process.is_alive():
            return None
        code = process.exitcode
    except (AttributeError, ValueError, AssertionError):
        return None
    return code if isinstance(code, int) else None
