"""Supervision of child processes: start, log, health-wait, watch, stop.

Every child runs in its own session (hence its own process group), so one
signal to the group reaches gunicorn workers, PostgreSQL backends and any
grandchild, and a Ctrl-C in the terminal does not hit the children before the
supervisor has decided the order in which to stop them. On Linux each child
also asks the kernel for SIGKILL when the supervisor dies, so even a
``kill -9`` of the harness leaves no server holding a port.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

import psutil

from stack.errors import HealthTimeout, ProcessDied

DEFAULT_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on ``host:port`` now.

    SO_REUSEADDR as servers set it: connections in TIME_WAIT from a stopped
    server do not make its port busy, a live listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


# Resolved once here: the child must not dlopen between fork and exec.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: keep it minimal.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ("" if it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """One supervised child."""

    name: str
    role: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals
    stopped: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def died(self) -> ProcessDied:
        return ProcessDied(self.name, self.popen.poll(), str(self.log_path), self.log_tail())

    def descendants(self) -> list[psutil.Process]:
        """Live children of this process, recursively (gunicorn workers, backends)."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return []


_live_supervisors: weakref.WeakSet[Supervisor] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for sup in list(_live_supervisors):
        sup.stop_all()


@dataclass(eq=False)
class Supervisor:
    """Starts children with logs in ``log_dir`` and stops them all on exit.

    Use as a context manager; ``stop_all`` runs on normal exit, on an
    exception and on KeyboardInterrupt, stopping children in reverse start
    order (services before the databases they use).
    """

    log_dir: Path
    grace_s: float = DEFAULT_GRACE_S
    _procs: list[ManagedProcess] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _live_supervisors.add(self)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    # -- starting -----------------------------------------------------------

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        role: str | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> ManagedProcess:
        """Start ``argv`` as ``name`` with stdout and stderr appended to ``<log_dir>/<name>.log``.

        ``env`` replaces the environment entirely when given (callers build it
        at the edge); ``user`` runs the child as that account (needed for
        PostgreSQL when the harness runs as root).
        """
        log_path = self.log_dir / f"{name}.log"
        # Signals wait until the child is registered: one started but unknown could not be stopped.
        with deferred_signals():
            with log_path.open("ab") as log:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
                command = shlex.join(argv).replace("\n", "\\n")  # one header line, always
                log.write(f"--- {stamp} start: {command}\n".encode())
                log.flush()
                popen = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    start_new_session=True,
                    user=user,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
                )
            proc = ManagedProcess(name, role or name, list(argv), popen, log_path, stop_signal)
            with self._lock:
                self._procs.append(proc)
        return proc

    # -- watching -----------------------------------------------------------

    def get(self, name: str) -> ManagedProcess:
        for proc in reversed(self._procs):
            if proc.name == name:
                return proc
        raise KeyError(name)

    @property
    def children(self) -> list[ManagedProcess]:
        return [p for p in self._procs if not p.stopped]

    def check_alive(self) -> None:
        """Raise ProcessDied naming the first child that is no longer running."""
        for proc in self.children:
            if not proc.alive():
                raise proc.died()

    def wait_until(
        self,
        name: str,
        probe: Callable[[], str | None],
        *,
        what: str,
        timeout_s: float = 30.0,
        interval_s: float = 0.1,
    ) -> None:
        """Poll ``probe`` (None = ready, else a reason) until ready, death or timeout."""
        proc = self.get(name)
        deadline = time.monotonic() + timeout_s
        last = "not probed yet"
        while True:
            if not proc.alive():
                raise proc.died()
            reason = probe()
            if reason is None:
                return
            last = reason
            if time.monotonic() >= deadline:
                raise HealthTimeout(name, what, timeout_s, last, proc.log_tail())
            time.sleep(interval_s)

    def wait_for_http(
        self, name: str, url: str, *, timeout_s: float = 30.0, interval_s: float = 0.1
    ) -> None:
        """GET ``url`` until it answers 200; fail fast with the log tail if the child dies."""
        self.wait_until(
            name, lambda: http_probe(url), what=url, timeout_s=timeout_s, interval_s=interval_s
        )

    # -- stopping -----------------------------------------------------------

    def stop(self, name: str) -> None:
        """Stop ``name`` and its whole tree; a Ctrl-C or SIGTERM meanwhile waits until done."""
        with deferred_signals():
            self._stop(self.get(name))

    def stop_all(self) -> None:
        """Stop every child, newest first; a second Ctrl-C cannot cut this short."""
        with deferred_signals():
            for proc in reversed(self.children):
                self._stop(proc)

    def _stop(self, proc: ManagedProcess) -> None:
        if proc.stopped:
            return
        # Remember the whole tree first: a child that started its own session
        # escapes the group signal but not this list.
        tree = proc.descendants()
        _signal_group(proc.pid, proc.stop_signal)
        _signal_each(tree, proc.stop_signal)
        try:
            proc.popen.wait(timeout=self.grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.popen.wait()
        # The leader is gone; anything left in its group or tree is killed now.
        _signal_group(proc.pid, signal.SIGKILL)
        _, alive = psutil.wait_procs(tree, timeout=min(self.grace_s, 2.0))
        _signal_each(alive, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=2.0)
        proc.stopped = True


def http_probe(url: str, timeout_s: float = 2.0) -> str | None:
    """None if ``url`` answers 200, else why not (never raises)."""
    # An empty ProxyHandler: HTTP_PROXY in the environment must not capture 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as resp:
            status: int = resp.status
            return None if status == 200 else f"HTTP {status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def with_descendants(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Each (role, pid) followed by its live descendants under the same role, deduplicated.

    One scan of the process table for the whole list: walking it per process
    (``psutil.Process.children``) costs a full scan each, which a sampler
    ticking twice a second on a 2-core machine would feel.
    """
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info.get("ppid")
        if ppid is not None:
            children.setdefault(ppid, []).append(proc.pid)
    out: list[tuple[str, int]] = []
    seen: set[int] = set()
    for role, root in pairs:
        todo = [root]
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            out.append((role, pid))
            todo.extend(children.get(pid, ()))
    return out


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_each(procs: list[psutil.Process], sig: signal.Signals) -> None:
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


# The signals that ask a process to stop (a terminal's Ctrl-C, kill, a closed terminal).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold stop signals in a section that must not be cut short (cleanup), deliver them after.

    A second Ctrl-C or SIGTERM while servers are being stopped and their files
    removed would otherwise leave both behind. The first signal held is raised
    again once the section is done, to whatever handler was there before.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    if pending:
        signal.raise_signal(pending[0])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP left at their default raise KeyboardInterrupt.

    Their default kills the process on the spot: whatever it started (servers,
    a temporary directory) would stay behind. As KeyboardInterrupt they unwind
    through the cleanup like Ctrl-C. Handlers a caller installed are kept.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    replaced = {
        sig: signal.signal(sig, _interrupt)
        for sig in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(sig) == signal.SIG_DFL
    }
    try:
        yield
    finally:
        for sig, handler in replaced.items():
            signal.signal(sig, handler)
