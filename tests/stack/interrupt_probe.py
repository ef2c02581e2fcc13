"""Start ``paybench up`` on embedded servers, signal it at a chosen moment, report leftovers.

``python -m tests.stack.interrupt_probe SIGNAL PHASE DELAY`` waits until a
process whose command line holds PHASE runs under ``paybench up`` (``initdb``,
``redis-server``, ``-m engine``...), waits DELAY seconds more, sends SIGNAL,
and prints one JSON object: whether the phase was seen, the exit code and
output of ``paybench up``, and what it left behind. This process makes itself
a child subreaper, so a process ``paybench up`` leaves running is re-parented
here and found (then killed) instead of vanishing under PID 1. ``paybench up``
gets a private TMPDIR, so its temporary directories are told apart from those
of anything else running on the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psutil

_PR_SET_CHILD_SUBREAPER = 36


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _descendants() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def _command(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def main(sig_name: str, phase: str, delay_s: float) -> dict[str, object]:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # Under /tmp and open to all: the postgres account must reach it when we are root.
    tmp = tempfile.mkdtemp(prefix="paybench-probe-", dir="/tmp")
    os.chmod(tmp, 0o755)
    out = tempfile.mkdtemp(prefix="paybench-probe-runs-")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PAYBENCH_DATABASE_URL", "PAYBENCH_REDIS_URL")}
    env["TMPDIR"] = tmp
    up = subprocess.Popen(
        [sys.executable, "-m", "paybench.cli", "up", "--out", out, "--workers", "1",
         "--merchants", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    seen = False
    deadline = time.monotonic() + 90
    while not seen and up.poll() is None and time.monotonic() < deadline:
        seen = any(phase in _command(p) for p in _descendants())
        time.sleep(0.005)
    time.sleep(delay_s)
    up.send_signal(getattr(signal, sig_name))
    try:
        output, _ = up.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        up.kill()
        output, _ = up.communicate()
    time.sleep(1.0)  # an orphan still stopping gets a moment to go
    _reap()
    left = [_command(p) or str(p.pid) for p in _descendants()]
    for proc in _descendants():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(_descendants(), timeout=5)
    _reap()
    files = sorted(os.listdir(tmp))
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return {"phase_seen": seen, "returncode": up.returncode,
            "output": output.decode(errors="replace")[-2000:],
            "left_processes": left, "left_files": files}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
