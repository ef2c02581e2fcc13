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
4. At the window's end no new iteration starts. Requests still running are awaited until
   none is in flight or ``drain_s`` has passed; those left are recorded as timed out (an
   iteration caught between two requests is counted as unfinished, not as a failure).
   Then the process ends the test itself (the master, once every worker has drained), so
   no request is cut off by Locust's run-time limit.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gevent
import psutil
from gevent.event import AsyncResult, Event
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_WAITING

from loadtests import locust_process
from loadtests.open_model import AbortRule, OpenSchedule, OpenSettings, TrialClock
from loadtests.recorder import Recorder
from rundir.parts import OpenCounts
from rundir.samples import MEASURED

START_MARGIN_S = locust_process.START_MARGIN_S  # from "every user exists" to the first slot
WATCH_EVERY_S = 0.25
MIN_ABORT_S, MIN_ABORT_SHARE = 1.0, 0.25
MEMORY_CHECK_S, MEMORY_GROWTH_LIMIT = 2.0, 512 * 1024 * 1024
ABORT_DRAIN_S = 1.0  # an aborted step's outcome is known: its stragglers need no long wait
FOREVER_S = 10 * 365 * 86400.0


class Iteration:
    """One run of a scenario task: when it started, whether any request failed, and the
    requests it has in flight (their starts; a task may send several at once)."""

    __slots__ = ("failed", "first_sent", "intended", "pending", "start", "timed_out")

    def __init__(self, start: float, intended: float | None) -> None:
        self.start = start
        self.intended = intended
        self.failed = False
        self.first_sent = False
        self.timed_out = False  # recorded as such: a late answer must not count twice
        self.pending: list[float] = []

    def sent(self, t: float) -> None:
        """A request of this iteration started (its latency runs from ``t``)."""
        self.pending.append(t)

    def answered(self, t: float) -> None:
        """The request that started at ``t`` ended."""
        try:
            self.pending.remove(t)
        except ValueError:
            if self.pending:  # started before we saw it: forget the oldest instead
                self.pending.pop(0)


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
        abort_rule: AbortRule | None = None,
    ) -> None:
        self.recorder = recorder
        self.open_settings = open_settings
        self.warmup_s = warmup_s
        self.duration_s = duration_s
        self.drain_s = drain_s
        self.on_done = on_done
        self.abort_rule = abort_rule
        self.aborted: str | None = None
        self.drain_deadline = float("inf")
        self.ended = 0
        self.finished = False
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
        # collector from walking it again and again. And no automatic collection until the
        # drain is over: a full collection stops every greenlet for tens of milliseconds,
        # which would show as late starts and latency (measured: worst start lag 36 ms at
        # 2,000/s with it, 8 ms without). The requests' garbage is freed by reference
        # counting; a guard turns the collector back on if memory grows anyway.
        gc.collect()
        gc.freeze()
        gc.disable()
        gevent.spawn(self._memory_guard)
        self.clock = TrialClock(t0, self.warmup_s, self.duration_s, self.drain_s)
        self.drain_deadline = self.clock.drain_deadline
        if self.recorder is not None:
            self.recorder.begin(self.clock)
            if self.abort_rule is not None:
                self.recorder.over_ms = self.abort_rule.p99_ms
        if self.open_settings is not None:
            self.schedule = OpenSchedule(self.open_settings, self.clock)
            gevent.spawn(self._dispatch)
            if self.abort_rule is not None and self.recorder is not None:
                gevent.spawn(self._watch, self.abort_rule, self.recorder)
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
            self.ended += 1
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
        while not self.closed and (slot := schedule.next_slot()) is not None:
            delay = slot - time.time()
            if delay > 0:
                gevent.sleep(delay)
            self.backlog.append(slot)
            while self.backlog and self.idle:
                due = self.backlog.popleft()
                if not schedule.too_late(due, time.time()):
                    self.idle.pop().set(due)
        if not self.closed:
            self._close()

    def _watch(self, rule: AbortRule, recorder: Recorder) -> None:
        """Stop the step as soon as its failure is certain (capacity search only)."""
        clock, schedule, settings = self.clock, self.schedule, self.open_settings
        assert clock is not None
        assert schedule is not None
        assert settings is not None
        planned = settings.rate / settings.processes * clock.duration_s
        # Not before a part of the window has run: the completions of an aborted step
        # still bound the target's capacity, and a very short window bounds it badly.
        earliest = clock.window_start + min(clock.duration_s,
                                            max(MIN_ABORT_S, MIN_ABORT_SHARE * clock.duration_s))
        while not self.closed:
            gevent.sleep(WATCH_EVERY_S)
            now = time.time()
            if now < earliest:
                continue
            limit = now - rule.p99_ms / 1000.0
            late_ones = sum(1 for it in self.running if it.start >= clock.window_start
                            for sent in it.pending if sent < limit)
            reason = rule.verdict(
                planned_iterations=planned,
                requests_per_iteration=recorder.requests / self.ended if self.ended else 1.0,
                over=recorder.over + late_ones, failed=recorder.measured_failed,
                behind=schedule.late + schedule.dropped)
            if reason is not None and not self.closed:
                self.abort(reason, now)
                return

    def abort(self, reason: str, now: float) -> None:
        """End the window now: nothing new starts, what runs gets a short drain."""
        clock = self.clock
        assert clock is not None
        self.aborted = reason
        cut = replace(clock, duration_s=max(0.0, now - clock.window_start))
        self.clock = cut
        if self.schedule is not None:
            self.schedule.clock = cut
        if self.recorder is not None:
            self.recorder.clock = cut
        self.drain_deadline = now + min(self.drain_s, ABORT_DRAIN_S)
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

    def _memory_guard(self) -> None:
        process = psutil.Process()
        start = process.memory_info().rss
        while not self.finished and not gc.isenabled():
            gevent.sleep(MEMORY_CHECK_S)
            if process.memory_info().rss - start > MEMORY_GROWTH_LIMIT:
                gc.enable()

    def _finish(self) -> None:
        while not self.closed:
            gevent.sleep(0.05)
        # The drain awaits requests, not whole iterations: once no request of the window is
        # in flight, an iteration between two of them (polling a pending payment, say)
        # has nothing left that the window owes a latency for.
        while any(it.pending for it in self.running) and time.time() < self.drain_deadline:
            gevent.sleep(0.02)
        self.finished = True
        gc.enable()
        clock = self.clock  # shorter if the step was aborted
        assert clock is not None
        now = time.time()
        if self.recorder is not None:
            for it in list(self.running):
                it.timed_out = True
                measured = clock.phase(it.start) == MEASURED
                if it.pending:
                    self.recorder.timed_out_iteration(pending=it.pending, now=now,
                                                      measured=measured)
                else:
                    self.recorder.unfinished_iteration(measured=measured)
            self.recorder.settle()
        self.running.clear()
        self.on_done()

    def counts(self) -> OpenCounts | None:
        """The open-model counters for the part summary (None in the closed model)."""
        return self.schedule.counts() if self.schedule is not None else None


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
            # Locust asks for the context as each request starts.
            ctx: dict[str, Any] = dict(super().context())
            it = self._it
            if it is not None:
                ctx["paybench_it"] = it
                if it.intended is not None and not it.first_sent:
                    # The first request of an open-model iteration runs from its slot.
                    it.first_sent = True
                    ctx["intended_start"] = it.intended
                    it.sent(it.intended)
                else:
                    sent = time.time()
                    ctx["paybench_sent"] = sent
                    it.sent(sent)
            return ctx

    PacedUser.__name__ = f"{'Open' if pacer.open else 'Closed'}{base.__name__}"
    PacedUser.__qualname__ = PacedUser.__name__
    return PacedUser
