"""One trial's load generator: ``locust --headless`` in a child process.

Locust patches the standard library with gevent when imported, so it never runs inside
the harness process. The child loads ``locustfiles/harness.py`` (recording and the
scenario), gets everything else through ``PAYBENCH_*`` variables, writes Locust's own CSV
files into ``<trial>/locust/`` and the full-precision parts into ``<trial>/.parts/``. With
``processes > 1`` Locust forks a master and that many workers (``--processes``).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from loadtests.config import RunConfig, child_variables
from loadtests.errors import TrialError
from rundir import layout

HARNESS_LOCUSTFILE = Path(__file__).resolve().parent / "locustfiles" / "harness.py"
START_MARGIN_S = 0.25  # loadtests.pacing.START_MARGIN_S (that module imports gevent)
RUN_TIME_SLACK_S = 30.0


@dataclass(frozen=True)
class LoadSpec:
    """What one Locust child does: its trial's load, with the run's settings."""

    host: str
    trial_dir: Path
    config: RunConfig  # the run's: the knobs the child reads, processes, locustfile
    users: int
    spawn_rate: float
    warmup_s: float
    duration_s: float
    rate: float | None = None
    api_keys: tuple[str, ...] = ()  # the target's merchants
    drain_s: float = 5.0
    abort_p99_ms: float | None = None
    abort_error_ratio: float = 0.01

    @property
    def scenario(self) -> str:
        return self.config.scenario

    @property
    def processes(self) -> int:
        return self.config.processes

    @property
    def stop_timeout_s(self) -> float:
        return self.config.stop_timeout_s

    @property
    def locustfile(self) -> Path | None:
        return self.config.locustfile

    @property
    def parts_dir(self) -> Path:
        return self.trial_dir / layout.PARTS

    @property
    def locust_dir(self) -> Path:
        return self.trial_dir / layout.LOCUST

    @property
    def spawn_s(self) -> float:
        """Seconds Locust needs to start every user, plus the pacer's start margin."""
        return self.users / self.spawn_rate + START_MARGIN_S if self.spawn_rate > 0 else 0.0

    @property
    def run_time_s(self) -> int:
        """Locust's ``-t``, in whole seconds.

        A built-in scenario ends the test itself after the window and the drain, so ``-t``
        is only a safety net far beyond that. A custom locustfile's users are not paced:
        the limit is what ends their test, just after the window.
        """
        phases = self.spawn_s + self.warmup_s + self.duration_s
        if self.locustfile is not None:
            return max(1, math.ceil(phases + 0.5))
        return max(1, math.ceil(phases + self.drain_s + RUN_TIME_SLACK_S))


def command(spec: LoadSpec) -> list[str]:
    """The argv of the Locust child."""
    files = str(HARNESS_LOCUSTFILE)
    if spec.locustfile is not None:
        files += "," + str(spec.locustfile.resolve())
    argv = [
        sys.executable, "-m", "locust",
        "-f", files,
        "--headless",
        "--host", spec.host,
        "-u", str(spec.users),
        "-r", f"{spec.spawn_rate:g}",
        "-t", f"{spec.run_time_s}s",
        "--stop-timeout", f"{spec.stop_timeout_s:g}",
        "--csv", str(spec.locust_dir / "locust"),
        "--csv-full-history",
        "--only-summary",
        "--exit-code-on-error", "0",
        "--loglevel", "INFO",
    ]
    if spec.processes > 1:
        argv += ["--processes", str(spec.processes)]
    return argv


def child_env(spec: LoadSpec, base_env: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the caller's, minus stale ``PAYBENCH_*``, plus every knob
    the child reads (``child=True`` in its declaration) and the trial's own values."""
    env = {k: v for k, v in base_env.items() if not k.startswith("PAYBENCH_")}
    env.update(child_variables(spec.config))
    env.update(
        {
            "PAYBENCH_PARTS_DIR": str(spec.parts_dir),
            "PAYBENCH_WARMUP_S": repr(spec.warmup_s),
            "PAYBENCH_DURATION_S": repr(spec.duration_s),
            "PAYBENCH_DRAIN_S": repr(spec.drain_s),
            "PAYBENCH_SCENARIO": "" if spec.locustfile is not None else spec.scenario,
            "PAYBENCH_MODEL": "open" if spec.rate is not None else "closed",
            "PAYBENCH_API_KEYS": ",".join(spec.api_keys),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if spec.rate is not None:
        env["PAYBENCH_RATE"] = repr(spec.rate)
    if spec.abort_p99_ms is not None:
        env["PAYBENCH_ABORT_P99_MS"] = repr(spec.abort_p99_ms)
        env["PAYBENCH_ABORT_ERROR_RATIO"] = repr(spec.abort_error_ratio)
    return env


class LocustProcess:
    """A running Locust child; ``stop`` ends it gracefully so it still writes its files."""

    def __init__(self, spec: LoadSpec, base_env: Mapping[str, str]) -> None:
        self.spec = spec
        spec.locust_dir.mkdir(parents=True, exist_ok=True)
        spec.parts_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = spec.locust_dir / "locust.log"
        self._log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                command(spec),
                env=child_env(spec, base_env),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own session: a terminal Ctrl-C reaches the harness, which stops Locust
                # in order (so it flushes its files) instead of killing it mid-write.
                start_new_session=True,
            )
        except OSError as exc:
            self._log.close()
            raise TrialError(f"cannot start locust: {exc}") from exc
        self.started_at = time.time()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[tuple[str, int]]:
        """(role, pid) of the generator processes, for resource sampling."""
        return [("locust", self.proc.pid)] if self.proc.poll() is None else []

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if still running after ``timeout_s``."""
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float = 10.0) -> int:
        """SIGTERM (Locust quits cleanly and flushes), then SIGKILL the group if it hangs."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            if self.wait(grace_s) is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._reap_group()
        self._log.close()
        return self.proc.returncode

    def _group(self) -> list[psutil.Process]:
        members = []
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error, OSError):
                if proc.pid != os.getpid() and os.getsid(proc.pid) == self.proc.pid:
                    members.append(proc)
        return members

    def _reap_group(self, grace_s: float = 10.0) -> None:
        # --processes workers share the child's session and may still be writing their
        # part files after the master exited: let them finish, then none may outlive us.
        deadline = time.monotonic() + grace_s
        while (members := self._group()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for proc in members:
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def log_tail(self, lines: int = 20) -> str:
        """The end of the child's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
