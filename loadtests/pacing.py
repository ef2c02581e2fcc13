"""The load generator's run-time inside a Locust process: start, pacing, drain and end.

Imported only by the harness's locustfile (it needs gevent). The trial proceeds as:

1. Locust spawns every user; a user's ``on_start`` runs, then it waits.
2. When all users exist (``spawning_complete``), the origin ``t0`` is fixed a little in the
   future (every process of a distributed run gets the master's ``t0``), Python's garbage
   collector is frozen so its pauses do not land in the window, and the schedule starts.
3. Closed model: every user starts iterations back to back (after its think time) until
   the window ends. Open model: a single dispatcher greenlet sleeps until each slot's
   intended time and hands it to the most recently idle user (last in, first out, so the
   fewest users and connections do the work); a slot nobody is free for waits in a
   backlog, and is dropped once it is ``drop_after_ms`` behind.
4. At the window's end no new iteration starts. Iterations still running are awaited
   until ``drain_s`` has passed; any left are recorded as timed out. Then the process
   ends the test itself (the master, once every worker has drained), so no request is cut
   off by Locust's run-time limit.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import AsyncResult, Event
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_WAITING

from loadtests import locust_process
from loadtests.open_model import MEASURED, OpenSchedule, OpenSettings, TrialClock
from loadtests.recorder import Recorder

START_MARGIN_S = locust_process.START_MARGIN_S  # from "every user exists" to the first slot
FOREVER_S = 10 * 365 * 86400.0


class Iteration:
    """One run of a scenario task: when it started and whether any request failed."""

    __slots__ = ("failed", "first_sent", "intended", "start")

    def __init__(self, start: float, intended: float | None) -> None:
        self.start = start
        self.intended = intended
        self.failed = False
        self.first_sent = False


class Pacer:
    """Decides when users may start iterations, and ends the test after the drain."""

    def __init__(
        self,
        recorder: Recorder | None,
        *,
        open_settings: OpenSettings | None,
        warmup_s: float,
        duration_s: float,
        drain_s: float,
        on_done: Callable[[], None],
    ) -> None:
        self.recorder = recorder
        self.open_settings = open_settings
        self.warmup_s = warmup_s
        self.duration_s = duration_s
        self.drain_s = drain_s
        self.on_done = on_done
        self.clock: TrialClock | None = None
        self.schedule: OpenSchedule | None = None
        self.started = Event()
        self.closed = False
        self.idle: list[AsyncResult] = []
        self.backlog: deque[float] = deque()
        self.running: set[Iteration] = set()

    @property
    def open(self) -> bool:
        return self.open_settings is not None

    def begin(self, t0: float) -> None:
        """Fix the origin and start pacing (only the first call counts)."""
        if self.clock is not None:
            return
        # Everything built so far (users, clients, modules) is long-lived: keep the
        # collector from walking it again and again during the window.
        gc.collect()
        gc.freeze()
        self.clock = TrialClock(t0, self.warmup_s, self.duration_s, self.drain_s)
        if self.recorder is not None:
            self.recorder.begin(self.clock)
        if self.open_settings is not None:
            self.schedule = OpenSchedule(self.open_settings, self.clock)
            gevent.spawn(self._dispatch)
        else:
            gevent.spawn(self._close_at, self.clock.window_end)
        self.started.set()
        gevent.spawn(self._finish)

    # -- users ------------------------------------------------------------------------

    def next_iteration(self, think_s: float = 0.0) -> Iteration | None:
        """Block until this user may start its next iteration; None once the window is over."""
        self.started.wait()
        if self.closed:
            return None
        if self.schedule is None:
            start = time.time() + think_s
            assert self.clock is not None
            if start >= self.clock.window_end:
                return None
            return self._run(Iteration(start, None))
        while self.backlog:  # slots that found every user busy
            slot = self.backlog.popleft()
            if not self.schedule.too_late(slot, time.time(), queued=True):
                return self._handed(slot, queued=True)
        waiter: AsyncResult = AsyncResult()
        self.idle.append(waiter)
        slot = waiter.get()
        return None if slot is None else self._handed(slot, queued=False)

    def end_iteration(self, it: Iteration) -> None:
        """The user finished ``it`` (its last request returned)."""
        if it in self.running:
            self.running.discard(it)
            if self.recorder is not None:
                self.recorder.iteration(started=it.start, ended=time.time(), ok=not it.failed)

    def _handed(self, slot: float, *, queued: bool) -> Iteration:
        assert self.schedule is not None
        self.schedule.started(slot, time.time(), queued=queued)
        return self._run(Iteration(slot, slot))

    def _run(self, it: Iteration) -> Iteration:
        self.running.add(it)
        return it

    # -- the schedule -----------------------------------------------------------------

    def _dispatch(self) -> None:
        schedule = self.schedule
        assert schedule is not None
        while (slot := schedule.next_slot()) is not None:
            delay = slot - time.time()
            if delay > 0:
                gevent.sleep(delay)
            self.backlog.append(slot)
            while self.backlog and self.idle:
                due = self.backlog.popleft()
                if not schedule.too_late(due, time.time()):
                    self.idle.pop().set(due)
        self._close()

    def _close_at(self, t: float) -> None:
        gevent.sleep(max(0.0, t - time.time()))
        self._close()

    def _close(self) -> None:
        self.closed = True
        if self.schedule is not None:
            # Due before the window closed, and nobody was ever free to start them.
            for slot in self.backlog:
                self.schedule.too_late(slot, float("inf"), queued=True)
            self.backlog.clear()
        while self.idle:
            self.idle.pop().set(None)

    def _finish(self) -> None:
        clock = self.clock
        assert clock is not None
        while not self.closed:
            gevent.sleep(0.05)
        while self.running and time.time() < clock.drain_deadline:
            gevent.sleep(0.02)
        now = time.time()
        if self.recorder is not None:
            for it in list(self.running):
                self.recorder.timed_out_iteration(
                    started=it.start, now=now, measured=clock.phase(it.start) == MEASURED)
            self.recorder.settle()
        self.running.clear()
        self.on_done()

    def counts(self) -> dict[str, Any]:
        """The open-model counters for the part summary (empty in the closed model)."""
        return self.schedule.counts() if self.schedule is not None else {}


def paced_user(base: Any, pacer: Pacer) -> Any:
    """``base`` whose iterations start when ``pacer`` says, and are recorded as iterations."""

    class PacedUser(base):  # type: ignore[misc]
        abstract = False
        _it: Iteration | None = None

        def wait_time(self) -> float:
            if self._it is not None:
                pacer.end_iteration(self._it)
                self._it = None
            think = 0.0 if pacer.open else float(super().wait_time())
            it = pacer.next_iteration(think)
            if it is None:
                gevent.sleep(FOREVER_S)  # the window is over; the test ends without us
                return 0.0
            self._it = it
            return max(0.0, it.start - time.time())

        def on_start(self) -> None:
            super().on_start()
            # Waiting for the first slot is waiting, not working: Locust may kill the user
            # at the end without granting it the stop timeout.
            self._state = LOCUST_STATE_WAITING
            gevent.sleep(self.wait_time())
            self._state = LOCUST_STATE_RUNNING

        def context(self) -> dict[str, Any]:
            ctx: dict[str, Any] = dict(super().context())
            it = self._it
            if it is not None:
                ctx["paybench_it"] = it
                if it.intended is not None and not it.first_sent:
                    # The first request of an open-model iteration runs from its slot.
                    it.first_sent = True
                    ctx["intended_start"] = it.intended
            return ctx

    PacedUser.__name__ = f"{'Open' if pacer.open else 'Closed'}{base.__name__}"
    PacedUser.__qualname__ = PacedUser.__name__
    return PacedUser
