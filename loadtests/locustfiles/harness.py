"""The harness's locustfile: full-precision recording, and the scenario in the chosen model.

The harness runs ``locust -f harness.py[,custom.py] --headless ...`` with:

* ``PAYBENCH_PARTS_DIR``, ``PAYBENCH_WARMUP_S``, ``PAYBENCH_DURATION_S``,
  ``PAYBENCH_DRAIN_S``: where this process writes its samples, histogram and summary, and
  the trial's phases (see ``loadtests.open_model.TrialClock``);
* ``PAYBENCH_SCENARIO``: a built-in scenario (unset when a custom locustfile brings users);
* ``PAYBENCH_MODEL=open``, ``PAYBENCH_RATE``: the open-model schedule;
* ``PAYBENCH_ABORT_P99_MS``, ``PAYBENCH_ABORT_ERROR_RATIO``: a capacity-search step, which
  stops as soon as it certainly fails (``loadtests.open_model.AbortRule``);
* ``PAYBENCH_API_KEYS`` and the other knobs the child reads (``PAYBENCH_PROCESSES``,
  ``PAYBENCH_OPEN_LATE_MS``, ``PAYBENCH_THINK_TIME_S``...: every knob declared ``child`` in
  ``loadtests.config``, read by ``loadtests.config.child_config``).

Built-in scenarios are paced by ``loadtests.pacing``: the process ends the test itself once
the window and the drain are over. A custom locustfile's users run unpaced until Locust's
run-time limit; their requests are still recorded and split into warm-up and window by
their start time. Without ``PAYBENCH_PARTS_DIR`` nothing is recorded and Locust behaves as
usual.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

import gevent
from locust import events
from locust.argument_parser import parse_locustfile_option
from locust.runners import CPU_WARNING_THRESHOLD, MasterRunner, WorkerRunner

from loadtests.config import child_config
from loadtests.open_model import AbortRule, OpenSettings, TrialClock
from loadtests.pacing import START_MARGIN_S, Pacer, paced_user
from loadtests.recorder import Recorder, RecorderSettings
from loadtests.scenarios import USER_CLASSES, user_class

_SETTINGS = RecorderSettings.from_env(os.environ)
_CONFIG = child_config(os.environ)
_SCENARIO = os.environ.get("PAYBENCH_SCENARIO", "")
_OPEN = os.environ.get("PAYBENCH_MODEL") == "open"
_START, _DONE = "paybench_start", "paybench_done"
_state: dict[str, Any] = {"recorder": None, "pacer": None, "done": 0, "environment": None}


def _fail(message: str) -> None:
    print(f"paybench: {message}", file=sys.stderr)
    raise SystemExit(2)


if _SCENARIO and _SCENARIO not in USER_CLASSES:
    _fail(f"PAYBENCH_SCENARIO={_SCENARIO!r} is not a scenario: use one of "
          + ", ".join(USER_CLASSES))
if _OPEN and not os.environ.get("PAYBENCH_RATE"):
    _fail("PAYBENCH_MODEL=open needs PAYBENCH_RATE (iterations per second of the whole run)")


def _other_locustfiles() -> bool | None:
    """Whether Locust was given a locustfile besides this one (None: cannot tell, as for a
    worker that downloads its locustfiles from the master)."""
    if "locust" not in sys.argv[0]:  # `locust` or `python -m locust`
        return None  # imported by something else than Locust's command line
    # annotated as a tuple, returns the parsed namespace
    options: Any = parse_locustfile_option()
    given = str(options.locustfile or "")
    if given == "-":
        return None
    here = os.path.realpath(__file__)
    paths = [p.strip() for p in given.split(",") if p.strip()]
    return any(os.path.isdir(p) or os.path.realpath(p) != here for p in paths)


if not _SCENARIO and _other_locustfiles() is False:
    # Without users Locust would go on to load this file as a pytest test and fail far away.
    _fail("PAYBENCH_SCENARIO is not set and no other locustfile brings users: set it to one "
          "of " + ", ".join(USER_CLASSES) + ", or add your locustfile (-f harness.py,yours.py)")


def _role(environment: Any) -> str:
    if isinstance(environment.runner, MasterRunner):
        return "master"
    if isinstance(environment.runner, WorkerRunner):
        return f"worker{max(environment.runner.worker_index, 0)}"
    return "local"


def _open_settings(environment: Any) -> OpenSettings | None:
    if not _OPEN:
        return None
    processes = _CONFIG.processes
    index = 0
    if isinstance(environment.runner, WorkerRunner):
        index = max(environment.runner.worker_index, 0)
    return OpenSettings(
        rate=float(os.environ["PAYBENCH_RATE"]),
        processes=processes,
        index=index % processes,
        late_ms=_CONFIG.open_late_ms,
        drop_after_ms=_CONFIG.open_drop_after_ms,
    )


def _abort_rule() -> AbortRule | None:
    p99 = os.environ.get("PAYBENCH_ABORT_P99_MS")
    if not (_OPEN and p99):
        return None
    return AbortRule(p99_ms=float(p99),
                     error_ratio=float(os.environ.get("PAYBENCH_ABORT_ERROR_RATIO", "0.01")))


def _pacer() -> Pacer:
    pacer: Pacer | None = _state["pacer"]
    if pacer is None:  # users are built before the runner exists in some Locust paths
        raise RuntimeError("the pacer is created at Locust's init event")
    return pacer


def _on_init(environment: Any, **_kw: Any) -> None:
    _state["environment"] = environment
    if _SETTINGS is not None:
        # The host name keeps parts copied together from several machines apart (pids repeat).
        part = f"{_role(environment)}-{socket.gethostname()}-{os.getpid()}"
        _state["recorder"] = Recorder(_SETTINGS, part)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(_DONE, _on_worker_done)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(_START, _on_start_message)
    if _SCENARIO and not isinstance(runner, MasterRunner):
        _state["pacer"] = Pacer(
            _state["recorder"], open_settings=_open_settings(environment),
            warmup_s=_SETTINGS.warmup_s if _SETTINGS else 0.0,
            duration_s=_SETTINGS.duration_s if _SETTINGS else float("inf"),
            drain_s=_SETTINGS.drain_s if _SETTINGS else 5.0,
            on_done=_done, abort_rule=_abort_rule(),
        )


def _on_test_start(environment: Any, **_kw: Any) -> None:
    recorder: Recorder | None = _state["recorder"]
    if recorder is not None:
        recorder.start(time.time())


def _on_spawning_complete(user_count: int, **_kw: Any) -> None:
    environment = _state["environment"]
    runner = environment.runner if environment is not None else None
    if isinstance(runner, WorkerRunner):
        return  # the master says when
    t0 = time.time() + START_MARGIN_S
    if isinstance(runner, MasterRunner):
        recorder: Recorder | None = _state["recorder"]
        if recorder is not None and _SETTINGS is not None:
            recorder.begin(TrialClock(t0, _SETTINGS.warmup_s, _SETTINGS.duration_s,
                                      _SETTINGS.drain_s))
        runner.send_message(_START, {"t0": t0})
        return
    if _state["pacer"] is not None:
        _state["pacer"].begin(t0)
    elif _state["recorder"] is not None and _SETTINGS is not None:
        # A custom locustfile: no pacing, but the same phases for its requests.
        _state["recorder"].begin(TrialClock(t0 - START_MARGIN_S, _SETTINGS.warmup_s,
                                            _SETTINGS.duration_s, _SETTINGS.drain_s))


def _on_start_message(msg: Any, **_kw: Any) -> None:
    pacer: Pacer | None = _state["pacer"]
    if pacer is not None:
        pacer.begin(float(msg.data["t0"]))


def _done() -> None:
    """This process has drained: end the test (a worker tells its master instead)."""
    environment = _state["environment"]
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(_DONE, None)
        return
    gevent.spawn(runner.quit)


def _on_worker_done(msg: Any, **_kw: Any) -> None:
    environment = _state["environment"]
    _state["done"] += 1
    runner = environment.runner
    if _state["done"] >= max(runner.worker_count, 1):
        recorder: Recorder | None = _state["recorder"]
        if recorder is not None:
            recorder.settle()
        gevent.spawn(runner.quit)


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
    ctx = context or {}
    intended = ctx.get("intended_start")
    if intended is not None:
        # Open model: latency runs from the intended start, not from the (late) send.
        t, latency = float(intended), (started - float(intended)) * 1000.0 + response_time
    else:
        t, latency = started, response_time
    it = ctx.get("paybench_it")
    if it is not None and it.timed_out:
        return  # already recorded as timed out when the drain ended
    if it is not None:
        it.answered(float(intended) if intended is not None else ctx.get("paybench_sent", t))
        if exception is not None:
            it.failed = True
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None)
    recorder.record(
        t=t, name=name, method=request_type, latency_ms=latency, status=status,
        ok=exception is None, phase=recorder.phase(it.start) if it is not None else None,
        server_timing=headers.get("Server-Timing") if headers else None,
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
    pacer: Pacer | None = _state["pacer"]
    recorder.close(role=_role(environment),
                   open_counts=pacer.counts() if pacer is not None and pacer.open else None,
                   aborted=(pacer.aborted or None) if pacer is not None else None)


def _export_user() -> None:
    # Locust collects the User classes bound in this module's namespace: bind exactly one.
    user = paced_user(user_class(_SCENARIO), _PACER_PROXY)
    globals()[user.__name__] = user


class _PacerProxy:
    """The user class is built at import, the pacer at Locust's init: forward to it."""

    @property
    def open(self) -> bool:
        return _OPEN

    def __getattr__(self, name: str) -> Any:
        return getattr(_pacer(), name)


_PACER_PROXY: Any = _PacerProxy()

_events: Any = events  # locust's EventHook is untyped
_events.init.add_listener(_on_init)
_events.test_start.add_listener(_on_test_start)
_events.spawning_complete.add_listener(_on_spawning_complete)
_events.request.add_listener(_on_request)
_events.cpu_warning.add_listener(_on_cpu_warning)
_events.usage_monitor.add_listener(_on_usage)
_events.quitting.add_listener(_on_quitting)
if _SCENARIO:
    _export_user()
