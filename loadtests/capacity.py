"""``paybench run``'s default: every target's capacity at one latency objective.

Three phases, all open-model trials of the run's scenario:

1. **Probe**: every target at the search's start rate (low enough to be unloaded). Unless
   ``--slo`` gives an absolute objective, the objective is derived from these trials
   (``reports.capacity.derive_objective``) and written into ``config.json``.
2. **Search**: each target on its own (``loadtests.search.RateSearch``): a geometric
   ramp until a step is not sustained, then bisection to the resolution. Targets take
   turns while more than one is searching, so drift of the shared machine hits them
   alike; a step stops as soon as its failure is certain, and a target is never stepped
   above a rate it failed.
3. **Confirm**: rounds of trials at each target's highest sustained rate, interleaved
   (A B, then B A), plus trials of every candidate at the baseline's rate (latency at a
   rate both sustain). If most confirmation trials of a target fail, its rate steps down
   by the resolution and is confirmed again.

Every figure is computed from the run directory by ``reports`` (the same functions
decide a step here and in the report), so the report can be re-rendered at any time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.config import RunConfig, open_cap
from loadtests.search import RateSearch, SearchSettings
from loadtests.trials import TrialPlan, TrialRunner, set_gateway_profile, trial_figures
from reports.capacity import Objective, assess_step, derive_objective
from reports.load import load_trial
from rundir import layout
from rundir.config import ObjectiveDoc, RunDocFile, SweptObjectiveDoc

MAX_STEP_DOWNS = 2
MIN_STEP_DRAIN_S = 1.0
CEILING_MARGIN = 1.1


def search_settings(config: RunConfig) -> SearchSettings:
    """The per-target search of a run."""
    return SearchSettings(start=config.search_start, resolution=config.search_resolution,
                          floor=min(config.search_start, config.search_floor))


@dataclass
class CapacityOutcome:
    """What the search found, per target (the report recomputes it from the trials)."""

    objective: Objective
    searches: dict[str, RateSearch] = field(default_factory=dict)
    confirmed: dict[str, float | None] = field(default_factory=dict)


class CapacityRun:
    """Runs the probe, search and confirmation trials of one gateway setting."""

    def __init__(
        self,
        runner: TrialRunner,
        config: RunConfig,
        *,
        baseline: str,
        log: Callable[[str], None],
        on_objective: Callable[[Objective], None],
        counters: dict[str, int] | None = None,
        gateway_profile: str | None = None,
        gateway_latency_ms: float | None = None,
        objective: Objective | None = None,
    ) -> None:
        self.runner = runner
        self.config = config
        self.targets: tuple[str, ...] = config.targets
        self.baseline = baseline
        self.log = log
        self.on_objective = on_objective
        self.counters = counters if counters is not None else {}
        self.gateway_profile = gateway_profile
        self.gateway_latency_ms = gateway_latency_ms
        self.objective = objective
        self.searches = {t: RateSearch(search_settings(config)) for t in self.targets}
        self.started = time.monotonic()
        self.trial_seconds: list[float] = []
        self.confirmed_trials = 0

    # -- phases ------------------------------------------------------------------------

    def run(self) -> CapacityOutcome:
        """All three phases; returns what was found."""
        probes: dict[str, dict[str, Any]] = {}
        for target in self.targets:
            # The probe's p99 is the objective's basis: it runs as long as a confirmation.
            probes[target] = self._trial(target, self.searches[target].settings.start, "search",
                                         duration_s=self.config.duration_s)
        if self.objective is None:
            if self.config.slo_p99_ms is not None:
                self.objective = Objective(
                    p99_ms=self.config.slo_p99_ms, error_ratio=self.config.slo_error_ratio,
                    source="given",
                    explanation=f"p99 <= {self.config.slo_p99_ms:g} ms, as given by --slo")
            else:
                unloaded = {t: measured_latencies(self.runner.run_dir, f["trial"])
                            for t, f in probes.items() if f.get("valid")}
                try:
                    self.objective = derive_objective(
                        unloaded, factor=self.config.slo_factor,
                        error_ratio=self.config.slo_error_ratio,
                        rate=self.searches[self.targets[0]].settings.start)
                except ValueError as exc:
                    raise RuntimeError(
                        "no target gave a valid trial at the search's start rate "
                        f"({self.config.search_start:g}/s), so no latency objective can be "
                        "derived; give one with --slo") from exc
            self.on_objective(self.objective)
            self.log(f"         latency objective: {self.objective.explanation}")
        for target, fig in probes.items():
            self._record(target, fig)
        self._search()
        confirmed = self._confirm()
        return CapacityOutcome(self.objective, self.searches, confirmed)

    def _search(self) -> None:
        while True:
            active = [t for t in self.targets if not self.searches[t].done]
            if not active:
                return
            for target in active:
                rate = self.searches[target].next_rate()
                if rate is None:
                    continue
                self._record(target, self._trial(target, rate, "search"))

    def _confirm(self) -> dict[str, float | None]:
        rates: dict[str, float | None] = {t: self.searches[t].lo for t in self.targets}
        for target, search in self.searches.items():
            self.log(f"         {target}: search ended ({search.outcome}); highest sustained "
                     + (f"{search.lo:g}/s" if search.lo is not None else "rate: none"))
        rounds = self.config.confirm_trials
        planned = rounds + 1  # the search step that found a rate is one of its trials
        needed = planned // 2 + 1  # a majority, as the report requires
        held: dict[str, list[bool]] = {t: [True] for t in self.targets}
        downs = dict.fromkeys(self.targets, 0)
        n = 0
        while active := [t for t in self.targets
                         if rates[t] is not None and len(held[t]) < planned]:
            order = active if n % 2 == 0 else list(reversed(active))  # A B, then B A
            n += 1
            for target in order:
                rate = rates[target]
                assert rate is not None
                held[target].append(
                    self._sustained(self._trial(target, rate, "confirm")) is True)
                failed = len(held[target]) - sum(held[target])
                if failed > planned - needed:
                    # no majority is possible any more: step down now, not after the round
                    if downs[target] >= MAX_STEP_DOWNS:
                        held[target] += [False] * (planned - len(held[target]))
                        continue
                    downs[target] += 1
                    # one resolution step down, or the highest rate the search saw held
                    # if that is closer (never a whole ramp factor at once)
                    below = [st.rate for st in self.searches[target].steps
                             if st.sustained and st.rate < rate]
                    step = rate / (1 + self.config.search_resolution)
                    lower = max([*below, step])
                    below = [r for r in below if r == lower]
                    self.log(f"         {target}: {failed} of {len(held[target])} trials "
                             f"failed {rate:.3g}/s, so most cannot hold it; confirming "
                             f"{lower:.3g}/s")
                    rates[target] = lower
                    held[target] = [True] if below else []
        # The candidates at the baseline's capacity: latency at a rate every target holds.
        base_rate = rates.get(self.baseline)
        for _ in range(common_trials(rounds)):
            for target in self.targets:
                rate = rates[target]
                if target != self.baseline and base_rate is not None and rate is not None \
                        and rate > base_rate:
                    self._trial(target, base_rate, "common")
        return rates

    # -- one trial ---------------------------------------------------------------------

    def _trial(self, target: str, rate: float, phase: str,
               duration_s: float | None = None) -> dict[str, Any]:
        cfg = self.config
        self.counters[target] = self.counters.get(target, 0) + 1
        search = phase == "search"
        # A search step stops once it certainly fails; the probes (no objective yet) and
        # the confirmation trials always run in full.
        abort = self.objective if search else None
        plan = TrialPlan(
            target=target, index=self.counters[target], order=sum(self.counters.values()) - 1,
            users=open_cap(rate, cfg.users), rate=rate,
            warmup_s=cfg.search_warmup_s if search else cfg.warmup_s,
            duration_s=duration_s or (cfg.search_duration_s if search else cfg.duration_s),
            # a step's verdict needs no long wait: what is still running after twice the
            # objective has missed it anyway
            drain_s=(min(cfg.drain_s, max(MIN_STEP_DRAIN_S, 2 * abort.p99_ms / 1000.0))
                     if abort is not None else None),
            step=len(self.searches[target].steps) if search else None, offered=rate,
            gateway_profile=self.gateway_profile, gateway_latency_ms=self.gateway_latency_ms,
            phase=phase, abort_p99_ms=abort.p99_ms if abort is not None else None,
            abort_error_ratio=abort.error_ratio if abort is not None else 0.01,
        )
        began = time.monotonic()
        self.runner.run_one(plan)
        self.trial_seconds.append(time.monotonic() - began)
        if not search:
            self.confirmed_trials += 1
        fig = trial_figures(self.runner.run_dir, plan.name)
        self._progress(target, phase, rate, fig)
        return fig

    def _sustained(self, fig: Mapping[str, Any]) -> bool | None:
        if self.objective is None:
            return None
        return assess_step(fig, self.objective).sustained

    def _record(self, target: str, fig: Mapping[str, Any]) -> None:
        rate = fig.get("offered_rps")
        if rate is None:
            return
        sustained = self._sustained(fig)
        ceiling = None
        started, done = fig.get("started_rps"), fig.get("throughput_rps")
        if sustained is False and started and done is not None and done < started:
            # Overload: what it completed is what the target can serve (a step stopped
            # early still ran at least a second; see loadtests.pacing.MIN_ABORT_S).
            ceiling = float(rate) * done / started * CEILING_MARGIN
        self.searches[target].record(float(rate), sustained, fig.get("mean_ms"), ceiling)

    def _progress(self, target: str, phase: str, rate: float, fig: Mapping[str, Any]) -> None:
        done = fig.get("throughput_rps")
        p99 = fig.get("p99_ms")
        verdict = ""
        if self.objective is not None:
            step = assess_step(fig, self.objective)
            verdict = {True: "sustained", False: "NOT sustained", None: "inconclusive"}[
                step.sustained]
            if step.reasons:
                verdict += " (" + "; ".join(step.reasons) + ")"
        elapsed = time.monotonic() - self.started
        self.log(f"[{elapsed:6.1f}s] {target} {phase} {rate:.3g} iterations/s -> "
                 f"{_fmt(done)} requests/s completed, p99 {_fmt(p99)} ms"
                 + (f": {verdict}" if verdict else "") + f"  | ETA {self._eta()}")

    def _eta(self) -> str:
        if not self.trial_seconds:
            return "?"
        per = sum(self.trial_seconds) / len(self.trial_seconds)
        steps = sum(s.remaining_estimate() for s in self.searches.values())
        planned = (self.config.confirm_trials * len(self.targets)
                   + common_trials(self.config.confirm_trials) * (len(self.targets) - 1))
        # (a step-down adds confirmation trials this estimate cannot foresee)
        seconds = per * (steps + max(planned - self.confirmed_trials, 0))
        return f"~{seconds / 60:.0f} min" if seconds >= 90 else f"~{seconds:.0f} s"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def common_trials(confirm_trials: int) -> int:
    """Trials of each candidate at the baseline's capacity (latency at a common rate)."""
    return 0 if confirm_trials < 2 else max(1, confirm_trials // 3)


def measured_latencies(run_dir: Path, name: str) -> list[float]:
    """Latencies (ms) of a trial's measured requests."""
    measured = load_trial(layout.trial_dir(run_dir, name), run_dir).measured
    return [float(v) for v in measured["latency_ms"]]


def capacity_plans_note(targets: Sequence[str]) -> str:
    """How the console names this kind of run."""
    return f"capacity search of {', '.join(targets)}"


def capacity_work(config: RunConfig, log: Callable[[str], None]) -> Any:
    """The adaptive work of ``paybench run`` (capacity model) for ``loadtests.run.execute``;
    with ``sweep_gateway_ms`` or ``sweep_profiles``, one search per gateway setting."""
    baseline = "legacy" if "legacy" in config.targets else config.targets[0]
    profiles: list[str | None] = [*config.sweep_profiles] or [None]
    latencies: list[float | None] = [*config.sweep_gateway_ms] or [None]
    settings = [(profile, latency) for profile in profiles for latency in latencies]

    def work(runner: TrialRunner, config_file: RunDocFile) -> None:
        counters: dict[str, int] = {}
        for profile, latency in settings:
            if profile is not None or latency is not None:
                label = ", ".join(x for x in (
                    f"profile {profile}" if profile else "",
                    f"gateway auth p50 {latency:g} ms" if latency is not None else "") if x)
                log(f"         -- {label} --")
                if runner.stack is not None:
                    set_gateway_profile(runner.stack.gateway_url, profile or config.gateway_profile,
                                        latency)

            def on_objective(objective: Objective, profile: str | None = profile,
                             latency: float | None = latency) -> None:
                doc: ObjectiveDoc = objective.to_doc()
                if profile is not None or latency is not None:
                    config_file.doc.objectives = (*(config_file.doc.objectives or ()),
                                                  SweptObjectiveDoc.at(
                                                      doc, gateway_profile=profile,
                                                      gateway_latency_ms=latency))
                else:
                    config_file.doc.objective = doc
                config_file.save()

            CapacityRun(runner, config, baseline=baseline, log=log, on_objective=on_objective,
                        counters=counters, gateway_profile=profile,
                        gateway_latency_ms=latency).run()

    return work


def stairs_work(config: RunConfig, plans: Sequence[TrialPlan], log: Callable[[str], None]) -> Any:
    """The trials of a stairs sweep, except that a target is not stepped higher once a step
    broke the objective (``--slo``, else p99 <= 500 ms and 1% errors): its backlog would only
    make the next steps wait for it, and they could not be sustained anyway."""
    objective = Objective(p99_ms=config.slo_p99_ms if config.slo_p99_ms is not None else 500.0,
                          error_ratio=config.slo_error_ratio)

    def work(runner: TrialRunner, config_file: RunDocFile) -> None:
        broken: dict[tuple[str, str | None, float | None], str] = {}
        for plan in plans:
            key = (plan.target, plan.gateway_profile, plan.gateway_latency_ms)
            if key in broken:
                config_file.doc.skipped = (*(config_file.doc.skipped or ()), plan.name)
                config_file.save()
                log(f"         {plan.name}: skipped ({plan.target} already broke at "
                    f"{broken[key]})")
                continue
            runner.run_one(plan)
            fig = trial_figures(runner.run_dir, plan.name)
            if plan.rate is not None:
                failed = assess_step(fig, objective).sustained is False
            else:  # users stairs: no rate to keep up with, only the objective
                p99, err = fig.get("p99_ms"), fig.get("error_ratio")
                failed = (p99 is not None and p99 > objective.p99_ms) or (
                    err is not None and err > objective.error_ratio)
            unit = "iterations/s" if plan.rate is not None else "users"
            log(f"         {plan.name} at {plan.offered:g} {unit}: "
                f"{_fmt(fig.get('throughput_rps'))} requests/s completed, p99 "
                f"{_fmt(fig.get('p99_ms'))} ms" + (" (broke the objective)" if failed else ""))
            if failed:
                broken[key] = f"{plan.offered:g} {unit}"

    return work
