"""Every process a test starts is gone when the test ends.

The suite marks its environment with a token that every child inherits
(unless given an environment of its own), so a child that outlived its
parent and was re-parented to PID 1 is still recognised as the suite's. A
process counts as the suite's when it descends from the pytest process or
carries the token. :func:`left_by` compares the suite's live processes with
those of an earlier moment; whatever is new and still running after a short
grace is killed and reported.

After each test only *orphans* are looked for: a process still under the
pytest process may belong to a module's or the session's fixture (a stack
whose PostgreSQL a test restarts), and is checked when the session ends,
after every fixture is gone. An orphan belongs to nobody.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import psutil

MARK = "PYTEST_PAYBENCH_SESSION"
GRACE_S = 3.0

_foreign: set[tuple[int, float]] = set()  # processes read once and found not to be ours


def mark_environment() -> None:
    """Give this process (and so every child that inherits its environment) the token."""
    os.environ.setdefault(MARK, uuid.uuid4().hex)


def _key(proc: psutil.Process) -> tuple[int, float]:
    try:
        return proc.pid, proc.create_time()
    except psutil.Error:
        return proc.pid, 0.0


def suite_processes(*, orphans_only: bool = False) -> dict[tuple[int, float], psutil.Process]:
    """The live processes of this test session, the pytest process excluded.

    ``orphans_only``: only those no longer under the pytest process.
    """
    token = os.environ.get(MARK)
    me = os.getpid()
    parent: dict[int, int] = {}
    procs: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["ppid", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == me:
            continue
        procs[proc.pid] = proc
        parent[proc.pid] = proc.info["ppid"] or 0
    ours: dict[tuple[int, float], psutil.Process] = {}
    for pid, proc in procs.items():
        ancestor, hops = parent.get(pid, 0), 0
        while ancestor not in (0, 1, me) and hops < 64:
            ancestor, hops = parent.get(ancestor, 0), hops + 1
        key = _key(proc)
        if ancestor == me:
            if not orphans_only:
                ours[key] = proc
            continue
        if key in _foreign or token is None:
            continue
        try:
            marked = proc.environ().get(MARK) == token
        except psutil.Error:  # gone, or not ours to read
            marked = False
        if marked:
            ours[key] = proc
        else:
            _foreign.add(key)
    return ours


def _command(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())[:200] or proc.name()
    except psutil.Error:
        return f"pid {proc.pid}"


def left_by(
    before: dict[tuple[int, float], psutil.Process], *, orphans_only: bool = False
) -> list[str]:
    """Processes started since ``before`` and still running after a grace; they are killed."""
    deadline = time.monotonic() + GRACE_S
    while True:
        now = suite_processes(orphans_only=orphans_only)
        new = {k: p for k, p in now.items() if k not in before}
        if not new or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    left = [f"pid {p.pid}: {_command(p)}" for p in new.values()]
    for proc in new.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(list(new.values()), timeout=5)
    return left
