"""The harness's locustfile: full-precision recording, and the scenario in the chosen model.

The harness runs ``locust -f harness.py[,custom.py] --headless ...`` with:

* ``PAYBENCH_PARTS_DIR``, ``PAYBENCH_WARMUP_S``, ``PAYBENCH_DURATION_S``: where this
  process writes its samples, histogram and summary, and the trial's windows;
* ``PAYBENCH_SCENARIO``: a built-in scenario (unset when a custom locustfile brings users);
* ``PAYBENCH_MODEL=open``, ``PAYBENCH_RATE``, ``PAYBENCH_PROCESSES``, ``PAYBENCH_OPEN_LATE_MS``,
  ``PAYBENCH_OPEN_DROP_AFTER_MS``: the open-model schedule;
* ``PAYBENCH_API_KEYS`` and the other scenario settings (see ``scenarios/settings.py``).

Without ``PAYBENCH_PARTS_DIR`` nothing is recorded and Locust behaves as usual.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import gevent
from locust import events
from locust.runners import CPU_WARNING_THRESHOLD, MasterRunner, WorkerRunner

from loadtests.open_model import OpenSchedule, OpenSettings
from loadtests.recorder import Recorder, RecorderSettings
from loadtests.scenarios import user_class

_SETTINGS = RecorderSettings.from_env(os.environ)
_SCENARIO = os.environ.get("PAYBENCH_SCENARIO", "")
_OPEN = os.environ.get("PAYBENCH_MODEL") == "open"
_state: dict[str, Any] = {"recorder": None, "schedule": None}


def _role(environment: Any) -> str:
    if isinstance(environment.runner, MasterRunner):
        return "master"
    if isinstance(environment.runner, WorkerRunner):
        return f"worker{max(environment.runner.worker_index, 0)}"
    return "local"


def _on_init(environment: Any, **_kw: Any) -> None:
    if _SETTINGS is not None:
        # The host name keeps parts copied together from several machines apart (pids repeat).
        part = f"{_role(environment)}-{socket.gethostname()}-{os.getpid()}"
        _state["recorder"] = Recorder(_SETTINGS, part)


def _on_test_start(environment: Any, **_kw: Any) -> None:
    now = time.time()
    recorder: Recorder | None = _state["recorder"]
    if recorder is not None:
        recorder.start(now)
    if _OPEN and not isinstance(environment.runner, MasterRunner):  # the master runs no users
        index = 0
        if isinstance(environment.runner, WorkerRunner):
            index = max(environment.runner.worker_index, 0)
        schedule = _schedule(index)
        warmup = _SETTINGS.warmup_s if _SETTINGS else 0.0
        duration = _SETTINGS.duration_s if _SETTINGS else float("inf")
        schedule.start(now, measure_from=now + warmup, measure_until=now + warmup + duration)


def _schedule(index: int = 0) -> OpenSchedule:
    if _state["schedule"] is None:
        processes = int(os.environ.get("PAYBENCH_PROCESSES", "1"))
        _state["schedule"] = OpenSchedule(
            OpenSettings(
                rate=float(os.environ["PAYBENCH_RATE"]),
                processes=processes,
                index=index % processes,
                late_ms=float(os.environ.get("PAYBENCH_OPEN_LATE_MS", "50")),
                drop_after_ms=float(os.environ.get("PAYBENCH_OPEN_DROP_AFTER_MS", "1000")),
            )
        )
    schedule: OpenSchedule = _state["schedule"]
    return schedule


def _on_request(
    *,
    request_type: str,
    name: str,
    response_time: float,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_kw: Any,
) -> None:
    recorder: Recorder | None = _state["recorder"]
    if recorder is None:
        return
    started = start_time if start_time is not None else time.time() - response_time / 1000.0
    intended = (context or {}).get("intended_start")
    if intended is not None:
        schedule: OpenSchedule | None = _state["schedule"]
        if schedule is not None:
            schedule.answered(float(intended))
        # Open model: latency runs from the intended start, not from the (late) send.
        t, latency = float(intended), (started - float(intended)) * 1000.0 + response_time
    else:
        t, latency = started, response_time
    status = int(getattr(response, "status_code", 0) or 0)
    recorder.record(
        t=t, name=name, method=request_type, latency_ms=latency, status=status,
        ok=exception is None,
    )


def _on_cpu_warning(environment: Any, cpu_usage: float, **_kw: Any) -> None:
    recorder: Recorder | None = _state["recorder"]
    if recorder is not None:
        recorder.note_cpu(cpu_usage, warning=True)


def _on_usage(environment: Any, cpu_usage: float, **_kw: Any) -> None:
    recorder: Recorder | None = _state["recorder"]
    if recorder is not None:
        recorder.note_cpu(cpu_usage, warning=cpu_usage > CPU_WARNING_THRESHOLD)


def _on_quitting(environment: Any, **_kw: Any) -> None:
    recorder: Recorder | None = _state["recorder"]
    if recorder is None:
        return
    extra: dict[str, Any] = {"role": _role(environment)}
    schedule: OpenSchedule | None = _state["schedule"]
    if schedule is not None:
        now = time.time()
        schedule.finish(now)
        unfinished = schedule.unfinished()
        for intended in unfinished:
            # Sent, never answered: a lower bound of its latency, counted as a failure.
            recorder.record(t=intended, name="(unfinished)", method="OPEN",
                            latency_ms=(now - intended) * 1000.0, status=0, ok=False)
        extra["open"] = {**schedule.counts(), "unfinished": len(unfinished)}
    recorder.close(extra)


def _open_user(base: Any) -> Any:
    """``base`` driven by the open-model schedule instead of its think time."""

    class OpenModelUser(base):  # type: ignore[misc]
        abstract = False
        _intended: float | None = None

        def wait_time(self) -> float:
            self._intended = _schedule().claim()
            return max(0.0, self._intended - time.time())

        def on_start(self) -> None:
            super().on_start()
            gevent.sleep(self.wait_time())

        def context(self) -> dict[str, Any]:
            ctx: dict[str, Any] = dict(super().context())
            if self._intended is not None:
                # Only the first request of an iteration carries the intended start.
                ctx["intended_start"] = self._intended
                _schedule().started(self._intended, time.time())
                self._intended = None
            return ctx

    OpenModelUser.__name__ = f"Open{base.__name__}"
    OpenModelUser.__qualname__ = OpenModelUser.__name__
    return OpenModelUser


def _export_user() -> None:
    # Locust collects the User classes bound in this module's namespace: bind exactly one.
    user = user_class(_SCENARIO)
    if _OPEN:
        user = _open_user(user)
    globals()[user.__name__] = user


_events: Any = events  # locust's EventHook is untyped
_events.init.add_listener(_on_init)
_events.test_start.add_listener(_on_test_start)
_events.request.add_listener(_on_request)
_events.cpu_warning.add_listener(_on_cpu_warning)
_events.usage_monitor.add_listener(_on_usage)
_events.quitting.add_listener(_on_quitting)
if _SCENARIO:
    _export_user()
