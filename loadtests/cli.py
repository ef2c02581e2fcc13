"""The ``paybench`` command line.

::

    paybench run     [--quick] [--label L] [--targets legacy,engine] [--users N | --rate R] ...
    paybench sweep   --sweep-users 10,20,40 | --sweep-rates 50,100,200 [--sweep-profiles ...]
    paybench up      start the stack, print URLs and API keys, wait for Ctrl-C
    paybench report  RUN_DIR            (re-)render a run's report
    paybench compare A B [...]          compare runs, with a regression gate
    paybench shadow  ...                shadow traffic (the ``shadow`` package)
    paybench export  postman [--out F]  the contract as a Postman collection

Exit codes: 0 success, 1 an SLO gate tripped or the run stopped early, 2 bad
configuration (nothing was started), 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from loadtests.config import DOCS, QUICK_DOC, RunConfig, resolve
from loadtests.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130

# flag -> knob; every flag defaults to None so "not given" is distinguishable.
FLAGS: dict[str, str] = {
    "--label": "label", "--targets": "targets", "--scenario": "scenario",
    "--model": "load_model", "--slo-factor": "slo_factor", "--search-start": "search_start",
    "--search-floor": "search_floor", "--search-resolution": "search_resolution",
    "--search-warmup": "search_warmup_s", "--search-duration": "search_duration_s",
    "--confirm-trials": "confirm_trials",
    "--users": "users", "--spawn-rate": "spawn_rate", "--rate": "rate",
    "--duration": "duration_s", "--warmup": "warmup_s", "--trials": "trials",
    "--order": "order", "--think-time": "think_time_s", "--processes": "processes",
    "--workers": "workers", "--db-pool-size": "db_pool_size",
    "--gateway-profile": "gateway_profile", "--gateway-timeout": "gateway_timeout_s",
    "--reconcile-interval": "reconcile_interval_s", "--merchants": "merchants",
    "--seed": "seed", "--database-url": "database_url", "--redis-url": "redis_url",
    "--api-keys": "api_keys", "--out": "out", "--slo": "slo", "--slo-targets": "slo_targets",
    "--locustfile": "locustfile",
    "--open-late-ms": "open_late_ms", "--open-drop-after-ms": "open_drop_after_ms",
    "--open-max-behind": "open_max_behind", "--stop-timeout": "stop_timeout_s",
    "--drain": "drain_s",
    "--sweep-users": "sweep_users", "--sweep-rates": "sweep_rates",
    "--sweep-profiles": "sweep_profiles", "--sweep-gateway-ms": "sweep_gateway_ms",
    "--step-duration": "step_duration_s",
    "--step-warmup": "step_warmup_s",
    "--step-trials": "step_trials",
    "--idle-timeout": "idle_timeout_s",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 too; keep one message format
        self.print_usage(sys.stderr)
        print(f"paybench: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)


def _add_load_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short preset: " + QUICK_DOC)
    defaults = RunConfig()
    for flag, knob in FLAGS.items():
        default = getattr(defaults, knob)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        text = DOCS[knob] + ("" if shown in (None, "") else f" (default: {shown})")
        parser.add_argument(flag, dest=knob, default=None, metavar=knob.upper(),
                            help=text.replace("%", "%%"))
    parser.add_argument("--target-url", dest="target_url", action="append", default=None,
                        metavar="NAME=URL", help="an already running target (repeatable)")


# subcommand -> (module, function(argv) -> exit code)
DELEGATED: dict[str, tuple[str, str]] = {
    "report": ("reports.cli_commands", "report_command"),
    "compare": ("reports.cli_commands", "compare_command"),
    "shadow": ("shadow.cli", "main"),
    "export": ("loadtests.export", "export_command"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="paybench", description="Benchmark and migration harness for "
                     "payment services. Settings: flags > PAYBENCH_* env > paybench.toml.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_load_flags(sub.add_parser("run", help="interleaved trials of every target"))
    _add_load_flags(sub.add_parser("sweep", help="stairs of users or rates; finds the knee"))
    _add_load_flags(sub.add_parser("up", help="start the stack and wait for Ctrl-C"))
    report = sub.add_parser("report", help="render a run directory's report", add_help=False)
    report.add_argument("rest", nargs=argparse.REMAINDER)
    compare = sub.add_parser("compare", help="compare runs", add_help=False)
    compare.add_argument("rest", nargs=argparse.REMAINDER)
    shadow = sub.add_parser("shadow", help="shadow traffic", add_help=False)
    shadow.add_argument("rest", nargs=argparse.REMAINDER)
    export = sub.add_parser("export", help="export the contract (postman)", add_help=False)
    export.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def config_from_args(args: argparse.Namespace, env: dict[str, str], cwd: Path) -> RunConfig:
    """Resolve the run configuration from parsed flags, the environment and the cwd."""
    cli: dict[str, object] = {knob: getattr(args, knob, None) for knob in FLAGS.values()}
    if args.target_url:
        cli["target_urls"] = ",".join(args.target_url)
        if cli.get("targets") is None:
            named = [u.partition("=")[0].strip() for u in args.target_url]
            env_targets = env.get("PAYBENCH_TARGETS")
            if not env_targets:
                cli["targets"] = ",".join(named)
    return resolve(cli, env=env, cwd=cwd, quick=bool(args.quick))


def _install_sigterm() -> None:
    # SIGTERM (a CI timeout, `kill`) stops a run like Ctrl-C: partial results are kept.
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    # A shell starts background jobs with SIGINT ignored; a run must still stop on it.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``paybench`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Delegated subcommands parse their own arguments (including --help).
    if argv and argv[0] in DELEGATED:
        module, function = DELEGATED[argv[0]]
        command: Any = getattr(importlib.import_module(module), function)
        return int(command(argv[1:]))
    args = build_parser().parse_args(argv)
    env = dict(os.environ)
    try:
        config = config_from_args(args, env, Path.cwd())
        if args.command == "sweep" and not (
            config.sweep_users or config.sweep_rates or config.sweep_gateway_ms
            or config.sweep_profiles
        ):
            raise ConfigError("sweep needs --sweep-users, --sweep-rates, --sweep-gateway-ms "
                              "or --sweep-profiles")
    except ConfigError as exc:
        print(f"paybench: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _install_sigterm()
    if args.command == "up":
        return _up(config, env)
    return _run(config, args.command, argv, env)


def _run(config: RunConfig, kind: str, argv: list[str], env: dict[str, str]) -> int:
    from loadtests.capacity import capacity_work, stairs_work
    from loadtests.run import execute
    from loadtests.trials import plan_run, plan_sweep

    started = time.monotonic()

    def log(line: str) -> None:
        print(line, flush=True)

    stairs = config.sweep_users or config.sweep_rates
    work: Any
    schedule = None
    if config.model == "capacity" and not (kind == "sweep" and stairs):
        work = capacity_work(config, log)
        objective = (f"given: {config.slo}" if config.slo_p99_ms is not None
                     else "derived from the unloaded p99")
        what = f"capacity search at a latency objective ({objective})"
        if kind == "sweep":
            what += " at each gateway setting"
    else:
        work = plan_sweep(config) if kind == "sweep" else plan_run(config)
        if kind == "sweep" and stairs:
            what = (f"{'users' if config.sweep_users else 'rate'} stairs "
                    + ",".join(f"{v:g}" for v in stairs))
        elif config.rate:
            what = f"open model, {config.rate:g} iterations/s, cap {config.users} users"
        else:
            what = f"closed model, {config.users} users"
        what = f"{len(work)} trials; {what}"
        if kind == "sweep" and stairs:
            schedule = work
            work = stairs_work(config, work, log)
    print(f"paybench {kind}: {', '.join(config.targets)}; {what}; scenario {config.scenario}",
          flush=True)
    outcome = execute(config, work, argv=argv, kind=kind, base_env=env, log=log,
                      schedule=schedule)
    if outcome.summary:
        print()
        print(outcome.summary)
    print(f"\nrun directory: {outcome.run_dir}  ({time.monotonic() - started:.0f} s)")
    if outcome.reason and "Ctrl-C" in outcome.reason:
        return EXIT_INTERRUPTED
    if not outcome.complete:
        return EXIT_FAILED
    if outcome.gates_failed:
        print("SLO gate tripped", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _up(config: RunConfig, env: dict[str, str]) -> int:
    from loadtests.run import create_run_dir, stack_config
    from stack.services import Stack

    run_dir = create_run_dir(config.out, f"{config.label}-up")
    print("stack starting ...", flush=True)
    try:
        with Stack(stack_config(config, run_dir, env)) as stack:
            print(f"gateway simulator: {stack.gateway_url}")
            print(f"database: {stack.database_url}\nredis: {stack.redis_url}")
            for name, url in stack.urls.items():
                keys = ",".join(m.api_key for m in stack.merchants.get(name, []))
                print(f"{name}: {url}\n  PAYBENCH_API_KEYS={keys}")
            print(f"logs: {run_dir / 'logs'}\nCtrl-C to stop.", flush=True)
            while True:
                time.sleep(1.0)
                stack.check_alive()
    except KeyboardInterrupt:
        print("\nstopped.")
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
