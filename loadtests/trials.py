"""Trials: the interleaved schedule, and running one trial into its run-directory folder.

Every trial of every target starts from the same state (``stack.reset(target)``), runs a
warm-up that is recorded but flagged, then the measured window, with CPU and memory of
every process sampled throughout. Targets are interleaved (A B A B, A B B A, or a seeded
shuffle per round) so that drift of the shared machine hits them alike.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway_sim.admin_client import GatewayAdmin
from loadtests.config import RunConfig, open_cap
from loadtests.errors import RunInterrupted, StopSignal, interrupt_reason
from loadtests.idle import StillBusy, wait_for_all
from loadtests.locust_process import LoadSpec, LocustProcess
from loadtests.merge import PartsSummary, assess, merge_trial
from rundir import layout
from rundir.trial import TrialMeta, write_trial_meta
from stack.resources import ResourceSampler

STARTUP_MARGIN_S = 30.0


class StackLike(Protocol):
    """What a trial needs from the running stack (``stack.services.Stack``)."""

    gateway_url: str

    def check_alive(self) -> None: ...

    def processes(self) -> list[tuple[str, int]]: ...

    def reset(self, target: str) -> None: ...


@dataclass(frozen=True)
class TrialPlan:
    """One trial of the schedule."""

    target: str
    index: int
    order: int
    users: int
    rate: float | None
    warmup_s: float
    duration_s: float
    step: int | None = None
    offered: float | None = None
    gateway_profile: str | None = None
    gateway_latency_ms: float | None = None
    phase: str | None = None  # capacity search: "search" or "confirm"
    abort_p99_ms: float | None = None  # stop the trial once it certainly misses this
    abort_error_ratio: float = 0.01
    drain_s: float | None = None  # None: the run's drain

    @property
    def name(self) -> str:
        return layout.trial_name(self.target, self.index)


def interleave(targets: Sequence[str], rounds: int, order: str, seed: int) -> list[str]:
    """Target of each trial: ``rounds`` rounds, each naming every target once."""
    rng = random.Random(seed)
    out: list[str] = []
    for r in range(rounds):
        round_ = list(targets)
        if order == "abba" and r % 2 == 1:
            round_.reverse()
        elif order == "shuffle":
            rng.shuffle(round_)
        out.extend(round_)
    return out


def plan_run(config: RunConfig) -> list[TrialPlan]:
    """The trials of ``paybench run``: ``trials`` rounds over the targets."""
    counters: dict[str, int] = {}
    plans = []
    for order, target in enumerate(
        interleave(config.targets, config.trials, config.order, config.seed)
    ):
        counters[target] = counters.get(target, 0) + 1
        plans.append(
            TrialPlan(
                target=target, index=counters[target], order=order, users=config.users,
                rate=config.rate, warmup_s=config.warmup_s, duration_s=config.duration_s,
            )
        )
    return plans


def plan_sweep(config: RunConfig) -> list[TrialPlan]:
    """The trials of ``paybench sweep``.

    Load stairs (``sweep_users`` or ``sweep_rates``) run in increasing order, each step a
    set of interleaved trials marked ``step`` and ``offered``; gateway profiles and gateway
    latencies (``sweep_profiles``, ``sweep_gateway_ms``) cross with the stairs. Without
    stairs the run's own users or rate is the single load level.
    """
    stairs = bool(config.sweep_users or config.sweep_rates)
    open_model = bool(config.sweep_rates) or (not stairs and config.rate is not None)
    levels: list[float] = (
        [float(u) for u in config.sweep_users] if config.sweep_users
        else list(config.sweep_rates) if config.sweep_rates
        else [config.rate if config.rate is not None else float(config.users)]
    )
    profiles: list[str | None] = list(config.sweep_profiles) or [None]
    gateway_ms: list[float | None] = list(config.sweep_gateway_ms) or [None]
    counters: dict[str, int] = {}
    plans: list[TrialPlan] = []
    block = 0
    for profile in profiles:
        for latency in gateway_ms:
            for step, level in enumerate(levels):
                rounds = interleave(config.targets, config.step_trials, config.order,
                                    config.seed + block)
                block += 1
                for target in rounds:
                    counters[target] = counters.get(target, 0) + 1
                    plans.append(
                        TrialPlan(
                            target=target, index=counters[target], order=len(plans),
                            users=open_cap(level, config.users) if open_model else int(level),
                            rate=level if open_model else None,
                            warmup_s=config.step_warmup_s, duration_s=config.step_duration_s,
                            step=step if stairs else None,
                            offered=level if stairs else None,
                            gateway_profile=profile, gateway_latency_ms=latency,
                        )
                    )
    return plans


def trial_figures(run_dir: Path, name: str) -> dict[str, Any]:
    """The report's figures of one finished trial (the same numbers the report shows)."""
    from reports import analysis, load  # noqa: PLC0415 - pandas; paybench up imports this module

    return analysis.analyse_trial(load.load_trial(layout.trial_dir(run_dir, name), run_dir))


def trial_line(fig: Mapping[str, Any]) -> str:
    """The console's line for a finished trial, from the report's figures of it
    (:func:`trial_figures`): the same requests, rate and errors."""
    # numbers written as the report writes them
    from reports import format as fmt  # noqa: PLC0415 - pandas; paybench up imports this module

    errors = sum(int(n) for n in (fig.get("errors_by_status") or {}).values())
    text = (f"{fig.get('requests', 0)} requests measured, {fmt.num(fig.get('throughput_rps'))} "
            f"requests/s completed, {errors} errors ({fmt.pct(fig.get('error_ratio'))})")
    if fig.get("timed_out"):
        text += f", {fig['timed_out']} timed out"
    if not fig.get("valid"):
        text += "  INVALID: " + "; ".join(fig.get("invalid_reasons") or ["invalid"])
    return text


def set_gateway_profile(gateway_url: str, profile: str, auth_ms: float | None = None) -> None:
    """Switch the simulator's profile, optionally with another payment-call latency
    (median ``auth_ms``, p99 four times that)."""
    doc: dict[str, Any] = {"profile": profile}
    if auth_ms is not None:
        doc["latency"] = {"auth": {"p50_ms": auth_ms, "p99_ms": 4 * auth_ms}}
    with GatewayAdmin(gateway_url) as admin:
        admin.set_profile(doc)


class TrialRunner:
    """Runs planned trials one by one into ``<run_dir>/trials/``."""

    def __init__(
        self,
        run_dir: Path,
        config: RunConfig,
        *,
        urls: Mapping[str, str],
        api_keys: Mapping[str, Sequence[str]],
        stack: StackLike | None,
        base_env: Mapping[str, str],
        log: Callable[[str], None] = print,
        started: float | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.config = config
        self.urls = dict(urls)
        self.api_keys = {k: tuple(v) for k, v in api_keys.items()}
        self.stack = stack
        self.base_env = dict(base_env)
        self.log = log
        self.started = time.monotonic() if started is None else started
        self.results: list[TrialMeta] = []

    def run(self, plans: Sequence[TrialPlan]) -> list[TrialMeta]:
        """Run every plan in order; raises RunInterrupted after saving a partial trial.

        After each trial the console shows the figures the report shows for it.
        """
        for n, plan in enumerate(plans, 1):
            step = f" step {plan.step} (offered {plan.offered:g})" if plan.step is not None else ""
            self.log(
                f"[{time.monotonic() - self.started:6.1f}s] trial {n}/{len(plans)}: "
                f"{plan.name}{step}"
            )
            self.run_one(plan)
            self.log("         " + trial_line(trial_figures(self.run_dir, plan.name)))
        return self.results

    def run_one(self, plan: TrialPlan) -> TrialMeta:
        """One trial: reset, sample resources, drive Locust, merge, write trial.json."""
        trial_dir = layout.trial_dir(self.run_dir, plan.name)
        trial_dir.mkdir(parents=True, exist_ok=False)
        idle_wait_s: float | None = None
        busy: str | None = None
        try:  # the previous trial's queued requests must be served before the reset
            idle_wait_s = round(wait_for_all(self.urls, self.config.idle_timeout_s), 3)
        except StillBusy as exc:
            busy = f"targets not idle before the trial: {exc}"
        if self.stack is not None:
            self.stack.check_alive()
            self.stack.reset(plan.target)
            if plan.gateway_profile is not None or plan.gateway_latency_ms is not None:
                set_gateway_profile(
                    self.stack.gateway_url,
                    plan.gateway_profile or self.config.gateway_profile,
                    plan.gateway_latency_ms,
                )
        spec = self._spec(plan, trial_dir)
        started_at = time.time()
        interrupted: str | None = None
        stop_signal: str | None = None
        exit_code: int | None = None
        locust = LocustProcess(spec, self.base_env)
        sampler = self._sampler(trial_dir, locust)
        try:
            exit_code = self._drive(locust, spec)
        except KeyboardInterrupt as exc:
            interrupted = interrupt_reason(exc)
            stop_signal = exc.name if isinstance(exc, StopSignal) else "SIGINT"
        except Exception as exc:  # noqa: BLE001 - a dead component: stop, keep what we have
            interrupted = f"{type(exc).__name__}: {exc}"
        finally:
            code = locust.stop(grace_s=max(10.0, self.config.stop_timeout_s + 5))
            exit_code = code if exit_code is None else exit_code
            sampler.stop()
        summary = merge_trial(spec.parts_dir, trial_dir)
        reasons = assess(summary, config=self.config, exit_code=exit_code, interrupted=interrupted)
        if busy is not None:
            reasons.append(busy)
        if exit_code not in (0, None) and not interrupted:
            reasons.append("locust log: " + locust.log_tail(5).replace("\n", " | ")[-400:])
        trial = self._trial_json(plan, started_at, summary, reasons, interrupted is None)
        trial = dataclasses.replace(trial, idle_wait_s=idle_wait_s)
        write_trial_meta(trial_dir, trial)
        self.results.append(trial)
        if interrupted:
            raise RunInterrupted(interrupted, stop_signal)
        return trial

    def _spec(self, plan: TrialPlan, trial_dir: Path) -> LoadSpec:
        cfg = self.config
        spawn = cfg.spawn_rate if cfg.spawn_rate is not None else float(plan.users)
        return LoadSpec(
            host=self.urls[plan.target], trial_dir=trial_dir, config=cfg,
            users=plan.users, spawn_rate=spawn,
            warmup_s=plan.warmup_s, duration_s=plan.duration_s, rate=plan.rate,
            api_keys=self.api_keys.get(plan.target, cfg.api_keys),
            drain_s=plan.drain_s if plan.drain_s is not None else cfg.drain_s,
            abort_p99_ms=plan.abort_p99_ms, abort_error_ratio=plan.abort_error_ratio,
        )

    def _sampler(self, trial_dir: Path, locust: LocustProcess) -> ResourceSampler:
        stack = self.stack

        def processes() -> list[tuple[str, int]]:
            own = stack.processes() if stack is not None else []
            return own + locust.pids()

        sampler = ResourceSampler(processes, trial_dir / layout.RESOURCES)
        sampler.start()
        return sampler

    def _drive(self, locust: LocustProcess, spec: LoadSpec) -> int:
        deadline = time.monotonic() + spec.run_time_s + spec.stop_timeout_s + STARTUP_MARGIN_S
        while True:
            code = locust.wait(0.5)
            if code is not None:
                return code
            if self.stack is not None:
                self.stack.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("locust did not finish in time")

    def _trial_json(
        self,
        plan: TrialPlan,
        started_at: float,
        summary: PartsSummary,
        reasons: list[str],
        complete: bool,
    ) -> TrialMeta:
        return TrialMeta(
            target=plan.target,
            index=plan.index,
            order=plan.order,
            model="open" if plan.rate is not None else "closed",
            users=plan.users,
            rate=plan.rate,
            step=plan.step,
            offered=plan.offered,
            phase=plan.phase,
            aborted=summary.aborted,
            scenario=self.config.scenario if self.config.locustfile is None else "custom",
            warmup_s=plan.warmup_s,
            duration_s=plan.duration_s,
            started_at=summary.t_start if summary.t_start is not None else started_at,
            launched_at=started_at,
            ended_at=time.time(),
            valid=not reasons,
            invalid_reasons=tuple(reasons),
            complete=complete,
            window_start=summary.window_start,
            window_end=summary.window_end,
            drain_s=plan.drain_s if plan.drain_s is not None else self.config.drain_s,
            late_starts=summary.late_starts,
            dropped_starts=summary.dropped_starts,
            late_queued=summary.late_queued,
            dropped_queued=summary.dropped_queued,
            scheduled_starts=summary.scheduled,
            max_start_lag_ms=summary.max_lag_ms,
            timed_out=summary.timed_out,
            completed_in_window=summary.completed_in_window,
            ok_in_window=summary.ok_in_window,
            iterations_started=summary.iterations_started,
            iterations_completed=summary.iterations_completed,
            iterations_failed=summary.iterations_failed,
            iterations_unfinished=summary.iterations_unfinished,
            cpu_warning=summary.cpu_warning,
            locust_cpu_max=summary.cpu_max,
            requests=summary.requests,
            requests_measured=summary.measured,
            failures=summary.failures,
            gateway_profile=plan.gateway_profile or self.config.gateway_profile,
            gateway_latency_ms=plan.gateway_latency_ms,
            processes=self.config.processes,
        )
