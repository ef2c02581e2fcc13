"""One ``paybench run`` or ``paybench sweep``: run directory, stack, trials, report.

The run directory is created first (timestamped, never reused), ``config.json`` is
written before the first trial and rewritten at the end with ``complete``; a stop signal
(Ctrl-C, SIGTERM, SIGHUP: the reason names it) or a crashed component stops the trials,
keeps every finished and partial trial, still renders the report, and leaves
``complete: false`` everywhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from gateway_sim.admin_client import AdminError, GatewayAdmin
from loadtests.checks import slo_limits
from loadtests.config import RunConfig, as_json
from loadtests.errors import RunInterrupted, StopSignal, interrupt_reason
from loadtests.options import load_shape
from loadtests.trials import TrialPlan, TrialRunner
from rundir.config import (
    GatewaySweepDoc,
    LoadDoc,
    ProfileSweepDoc,
    RunDoc,
    RunDocFile,
    SearchDoc,
    SettingsFromDoc,
    SloDoc,
    SweepDoc,
)
from rundir.files import write_environment, write_ledger
from rundir.layout import create_run_dir
from rundir.trial import TrialMeta
from stack.environment import capture_environment
from stack.services import Stack, StackConfig
from stack.targets import TargetSpec


@dataclass
class RunOutcome:
    """What the CLI needs after a run."""

    run_dir: Path
    complete: bool
    reason: str | None
    trials: list[TrialMeta]
    report: Any = None
    summary: str | None = None
    gates_failed: bool = False
    signal_name: str | None = None  # the stop signal that ended the run, if one did


def slo_dict(spec: str | None) -> SloDoc | None:
    """The SLO for the report's capacity search: ``{"spec", "p99_ms", "error_ratio"}``."""
    if not spec:
        return None
    p99, err = slo_limits(spec)
    return SloDoc(spec=spec, p99_ms=p99, error_ratio=err)


def config_document(
    config: RunConfig,
    *,
    targets: Mapping[str, Mapping[str, Any]],
    plans: Sequence[TrialPlan] | None,
    argv: Sequence[str],
    kind: str,
    sources: Mapping[str, Any] | None = None,
) -> RunDoc:
    """The ``config.json`` of a run (``plans`` None: a capacity search decides its trials);
    ``sources`` are the settings taken from the environment and the config file
    (``loadtests.config.setting_sources``), which the command line alone does not show."""
    knobs = as_json(config)
    # stairs set the model and the load of each step themselves; the trials of a sweep
    # that is no capacity search are steps of fixed load, of the step_* lengths
    model, stairs, stepped = load_shape(config, kind)
    search = None
    if model == "capacity":
        search = SearchDoc(
            start=config.search_start, floor=config.search_floor,
            resolution=config.search_resolution, warmup_s=config.search_warmup_s,
            duration_s=config.search_duration_s, confirm_trials=config.confirm_trials,
            slo_factor=config.slo_factor, unit="iterations/s",
        )
    sweep = None
    if kind == "sweep" and (config.sweep_users or config.sweep_rates):
        sweep = SweepDoc(by="users" if config.sweep_users else "rate",
                         steps=tuple(config.sweep_users or config.sweep_rates))
    load = LoadDoc(
        model=model,
        users=None if stairs and config.sweep_users else config.users,
        rate=None if stairs else config.rate,
        spawn_rate=config.effective_spawn_rate,
        duration_s=config.step_duration_s if stepped else config.duration_s,
        warmup_s=config.step_warmup_s if stepped else config.warmup_s,
        trials=(None if plans is None else config.step_trials if stepped
                else config.trials),
        scenario=config.scenario if config.locustfile is None else "custom",
        order=config.order,
        think_time_s=config.think_time_s,
        processes=config.processes,
        open_late_ms=config.open_late_ms,
        open_drop_after_ms=config.open_drop_after_ms,
        open_max_behind=config.open_max_behind,
        drain_s=config.drain_s,
        search=search,
        sweep=sweep,
    )
    return RunDoc(
        label=config.label,
        kind=kind,
        targets={name: dict(values) for name, values in targets.items()},
        load=load,
        gateway_profile=config.gateway_profile,
        gateway_timeout_s=config.gateway_timeout_s,
        seed=config.seed,
        merchants=config.merchants,
        database=knobs["database_url"] or "embedded",
        redis=knobs["redis_url"] or "embedded",
        baseline="legacy" if "legacy" in config.targets else config.targets[0],
        schedule=tuple(p.name for p in plans) if plans is not None else None,
        command=("paybench", *argv),
        settings_from=SettingsFromDoc.from_json(sources) if sources is not None else None,
        knobs=knobs,
        complete=False,
        started_at=time.time(),
        slo=slo_dict(config.slo),
        profile_sweep=(ProfileSweepDoc(profiles=tuple(config.sweep_profiles))
                       if kind == "sweep" and config.sweep_profiles else None),
        gateway_sweep=(GatewaySweepDoc(latencies_ms=tuple(config.sweep_gateway_ms),
                                       call="auth", p99_factor=4)
                       if kind == "sweep" and config.sweep_gateway_ms else None),
    )


def target_settings(config: RunConfig, urls: Mapping[str, str],
                    described: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-target settings shown side by side in the report (fairness)."""
    out: dict[str, dict[str, Any]] = {}
    for name in config.targets:
        extra = dict((described or {}).get(name) or {})
        external = config.external_url(name) is not None
        out[name] = {
            **extra,
            "url": urls.get(name),
            "workers": None if external else config.workers,
            "pool": None if external else config.db_pool_size,
            "external": external,
        }
    return out


def fetch_gateway_profile(gateway_url: str) -> dict[str, Any] | None:
    """The simulator's effective profile (latencies, faults), for the report (best effort)."""
    try:
        with GatewayAdmin(gateway_url) as admin:
            return admin.profile()
    except AdminError:
        return None


# Adaptive work (a capacity search) decides its trials as it goes: it gets the runner and
# config.json, to record settings it derived (the latency objective).
Adaptive = Callable[[TrialRunner, RunDocFile], None]


def execute(
    config: RunConfig,
    plans: Sequence[TrialPlan] | Adaptive,
    *,
    argv: Sequence[str],
    kind: str,
    base_env: Mapping[str, str],
    log: Callable[[str], None] = print,
    schedule: Sequence[TrialPlan] | None = None,
    sources: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Start the stack, run ``plans`` (or the adaptive work, whose planned trials, if it
    knows them, are ``schedule``), write everything, render the report."""
    run_dir = create_run_dir(config.out, config.label)
    log(f"run directory: {run_dir}")
    t0 = time.monotonic()
    trials: list[TrialMeta] = []
    complete, reason = False, None
    stopped_by: str | None = None
    config_file = RunDocFile(run_dir, config_document(
        config, targets=target_settings(config, {}, None),
        plans=plans if isinstance(plans, Sequence) else schedule,
        argv=argv, kind=kind, sources=sources))
    config_file.save()
    try:
        _in_stack(config, plans, config_file, trials, base_env=base_env, log=log, t0=t0)
        complete = True
    except RunInterrupted as exc:
        reason, stopped_by = exc.reason, exc.signal_name
    except KeyboardInterrupt as exc:
        reason = interrupt_reason(exc)
        stopped_by = exc.name if isinstance(exc, StopSignal) else "SIGINT"
    except Exception as exc:  # noqa: BLE001 - recorded as the reason; the report still renders
        reason = f"{type(exc).__name__}: {exc}"
    doc = config_file.doc
    doc.complete = complete
    doc.ended_at = time.time()
    if reason:
        doc.incomplete_reason = reason
        log(f"run stopped early: {reason}")
    config_file.save()
    log(f"[{time.monotonic() - t0:6.1f}s] trials done; rendering report")
    outcome = RunOutcome(run_dir, complete, reason, trials, signal_name=stopped_by)
    render(outcome, config, log)
    return outcome


def _in_stack(config: RunConfig, plans: Sequence[TrialPlan] | Adaptive,
              config_file: RunDocFile, results: list[TrialMeta], *,
              base_env: Mapping[str, str], log: Callable[[str], None], t0: float) -> None:
    """Start the stack, run the trials in it (each appended to ``results`` as it ends, so
    an interrupted run keeps them), keep the gateway's ledger."""
    run_dir = config_file.run_dir
    log(f"[{time.monotonic() - t0:6.1f}s] stack starting "
        f"(targets {', '.join(config.targets)}, workers {config.workers}, "
        f"pool {config.db_pool_size}, gateway profile {config.gateway_profile})")
    with Stack(stack_config(config, run_dir, base_env)) as stack:
        urls = dict(stack.urls)
        log(f"[{time.monotonic() - t0:6.1f}s] stack up: "
            + ", ".join(f"{k} {v}" for k, v in urls.items()))
        config_file.doc.targets = target_settings(config, urls, _describe(stack))
        config_file.doc.gateway = fetch_gateway_profile(stack.gateway_url)
        config_file.save()
        _write_environment(run_dir, stack, config)
        keys = {t: [m.api_key for m in stack.merchants.get(t, [])] or list(config.api_keys)
                for t in config.targets}
        runner = TrialRunner(run_dir, config, urls=urls, api_keys=keys, stack=stack,
                             base_env=base_env, log=log, started=t0)
        runner.results = results
        try:
            if isinstance(plans, Sequence):
                runner.run(plans)
            else:
                plans(runner, config_file)
        finally:
            with GatewayAdmin(stack.gateway_url) as admin, contextlib.suppress(AdminError):
                write_ledger(run_dir, admin.ledger())  # best effort


def stack_config(config: RunConfig, run_dir: Path, base_env: Mapping[str, str]) -> Any:
    """The stack's frozen configuration, from the run's."""
    specs = tuple(
        TargetSpec(name=name, url=url) for name, url in config.target_urls
        if name in config.targets
    )
    return StackConfig(
        log_dir=run_dir / "logs",
        database_url=config.database_url,
        redis_url=config.redis_url,
        targets=config.targets,
        target_specs=specs,
        workers=config.workers,
        db_pool_size=config.db_pool_size,
        gateway_profile=config.gateway_profile,
        gateway_timeout_s=config.gateway_timeout_s,
        seed=config.seed,
        merchants=config.merchants,
        reconcile_interval_s=config.reconcile_interval_s,
        base_env=dict(base_env),
    )


def _describe(stack: Any) -> dict[str, Any] | None:
    describe = getattr(stack, "describe", None)
    return describe() if callable(describe) else None


def _write_environment(run_dir: Path, stack: Any, config: RunConfig) -> None:
    try:
        env = capture_environment(stack, seed=config.seed)
    except Exception as exc:  # noqa: BLE001 - the environment is context: never lose a run to it
        env = {"error": f"{type(exc).__name__}: {exc}"}
    env.setdefault("python", sys.version)
    env.setdefault("pid", os.getpid())
    env["load_generator"] = {"processes": config.processes, "locust": _locust_version()}
    write_environment(run_dir, env)


def _locust_version() -> str | None:
    try:
        return version("locust")
    except PackageNotFoundError:
        return None


def render(outcome: RunOutcome, config: RunConfig, log: Callable[[str], None]) -> None:
    """Render the report and the summary table; record whether an SLO gate tripped."""
    try:
        import reports  # noqa: PLC0415 - pandas, matplotlib; paybench up imports this module

        outcome.report = reports.render_run(outcome.run_dir, slo=config.slo,
                                            slo_targets=config.slo_targets or None)
        outcome.summary = reports.summary_table(outcome.report.results)
        outcome.gates_failed = not outcome.report.gates_passed
    except Exception as exc:  # noqa: BLE001 - keep the raw data usable even if rendering fails
        log(f"report rendering failed: {type(exc).__name__}: {exc}")
        outcome.summary = fallback_summary(outcome.trials)


def fallback_summary(trials: Sequence[TrialMeta]) -> str:
    """A plain per-trial table when the report package is unavailable."""
    lines = [f"{'trial':<14} {'valid':<6} {'measured':>9} {'failures':>9}"]
    for t in trials:
        lines.append(f"{t.target}-{t.index:<8} {t.valid!s:<6} "
                     f"{t.requests_measured:>9} {t.failures:>9}")
    return "\n".join(lines)
