"""The ``paybench`` command line.

::

    paybench run     [--quick] [--targets legacy,engine,sanic] [--users N | --rate R] ...
    paybench sweep   --sweep-users 10,20,40 | --sweep-rates 50,100,200 [--sweep-profiles ...]
    paybench up      start the stack, print URLs and API keys, wait for Ctrl-C
    paybench report  RUN_DIR            (re-)render a run's report
    paybench compare A B [...]          compare runs, with a regression gate
    paybench shadow  ...                shadow traffic (the ``shadow`` package)
    paybench export  postman [--out F]  the contract as a Postman collection

Each command accepts only its own options (``paybench COMMAND --help``); a flag of another
command, or one that does not apply to the chosen load model, is a configuration error.

Exit codes: 0 success, 1 an SLO gate tripped, the run stopped early or the stack did not
start, 2 bad configuration (nothing was started), 128 + N when signal N stopped the run
(130 SIGINT/Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from loadtests.config import RunConfig, env_warnings, resolve, setting_sources
from loadtests.errors import ConfigError, StopSignal
from loadtests.options import OPTIONS, add_options, foreign_flags, inapplicable
from rundir.layout import create_run_dir
from stack.errors import StackError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 too; keep one message format
        # The full usage of run (forty options) would bury the message: point to --help.
        print(f"usage: {self.prog} ... (`{self.prog} --help` lists the options)\n"
              f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)


# Start-up (`paybench --help`, a configuration error) loads no heavy library: each command
# imports what it needs when it runs (reports: pandas, matplotlib, scipy; shadow: aiohttp;
# the contract: PyYAML; a run and the stack: httpx, psycopg, redis, psutil).


def _report(argv: list[str]) -> int:
    from reports.cli_commands import report_command  # noqa: PLC0415 - pandas, for this command only

    return report_command(argv)


def _compare(argv: list[str]) -> int:
    from reports.cli_commands import compare_command  # noqa: PLC0415 - pandas, for this command only

    return compare_command(argv)


def _shadow(argv: list[str]) -> int:
    from shadow.cli import main as shadow_main  # noqa: PLC0415 - aiohttp, for this command only

    return shadow_main(argv)


def _export(argv: list[str]) -> int:
    from loadtests.export import export_command  # noqa: PLC0415 - PyYAML, for this command only

    return export_command(argv)


# Subcommands that parse their own arguments (including --help): argv -> exit code.
DELEGATED: dict[str, Callable[[list[str]], int]] = {
    "report": _report, "compare": _compare, "shadow": _shadow, "export": _export,
}
STACK_COMMANDS: dict[str, str] = {
    "run": "search every target's capacity at a latency objective (--users: closed model, "
    "--rate: open model)",
    "sweep": "a capacity search per gateway latency or profile, or stairs of users or rates",
    "up": "start the stack, print its URLs and API keys, wait for Ctrl-C",
}


def build_parser(commands: dict[str, argparse.ArgumentParser] | None = None
                 ) -> argparse.ArgumentParser:
    """The argument parser of every subcommand; each lists only its own options (and is
    put into ``commands`` when given)."""
    parser = _Parser(prog="paybench", description="Benchmark and migration harness for "
                     "payment services. Settings: flags > PAYBENCH_* env > paybench.toml.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command, text in STACK_COMMANDS.items():
        own = sub.add_parser(command, help=text, description=text)
        add_options(own, command)
        if commands is not None:
            commands[command] = own
    for command, text in (("report", "render a run directory's report"),
                          ("compare", "compare runs, with a regression gate"),
                          ("shadow", "shadow traffic"),
                          ("export", "export the contract (postman)")):
        delegated = sub.add_parser(command, help=text, add_help=False)
        delegated.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, set[str]]:
    """Parsed arguments and the knobs given as flags; a flag of another command, or one
    that does not parse, exits 2 with a message."""
    commands: dict[str, argparse.ArgumentParser] = {}
    parser = build_parser(commands)
    args, extras = parser.parse_known_args(argv)
    if extras:
        own = commands.get(args.command, parser)
        foreign = foreign_flags(args.command, extras)
        if foreign:
            own.error("; ".join(foreign))
        own.error(f"unrecognized arguments: {' '.join(extras)}")
    given = {o.name for o in OPTIONS if getattr(args, o.name, None) is not None}
    return args, given


def config_from_args(args: argparse.Namespace, env: dict[str, str], cwd: Path) -> RunConfig:
    """Resolve the run configuration from parsed flags, the environment and the cwd."""
    cli: dict[str, object] = {}
    for option in OPTIONS:
        value = getattr(args, option.name, None)
        cli[option.name] = ",".join(value) if option.repeatable and value else value
    if getattr(args, "target_urls", None) and cli.get("targets") is None:
        # targets given by --target-url alone are the ones measured
        named = [u.partition("=")[0].strip() for u in args.target_urls]
        env_targets = env.get("PAYBENCH_TARGETS")
        if not env_targets:
            cli["targets"] = ",".join(named)
    return resolve(cli, env=env, cwd=cwd, quick=bool(getattr(args, "quick", False)))


def _install_stop_signals() -> None:
    # SIGTERM (a CI timeout, `kill`) and SIGHUP (a closed terminal) stop a run like Ctrl-C:
    # partial results are kept, and the reason names the signal. A shell starts background
    # jobs with SIGINT ignored; a run must still stop on it.
    def handler(signum: int, frame: FrameType | None) -> None:
        raise StopSignal(signal.Signals(signum).name)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)


def exit_code_of(signal_name: str) -> int:
    """128 + the signal's number, as a shell reports a process a signal ended."""
    return 128 + int(signal.Signals[signal_name])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``paybench`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Delegated subcommands parse their own arguments (including --help).
    if argv and argv[0] in DELEGATED:
        return DELEGATED[argv[0]](argv[1:])
    args, given = parse(argv)
    env = dict(os.environ)
    for warning in env_warnings(env):
        print(f"paybench: warning: {warning}", file=sys.stderr)
    try:
        config = config_from_args(args, env, Path.cwd())
        if args.command == "sweep" and not (
            config.sweep_users or config.sweep_rates or config.sweep_gateway_ms
            or config.sweep_profiles
        ):
            raise ConfigError("sweep needs --sweep-users, --sweep-rates, --sweep-gateway-ms "
                              "or --sweep-profiles")
        unused = inapplicable(given, config, args.command)
        if unused:
            raise ConfigError(f"paybench {args.command}: " + "; ".join(unused))
    except ConfigError as exc:
        print(f"paybench: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _install_stop_signals()
    if args.command == "up":
        return _up(config, env)
    return _run(config, args.command, argv, env)


def _run(config: RunConfig, kind: str, argv: list[str], env: dict[str, str]) -> int:
    from loadtests.capacity import capacity_work, stairs_work  # noqa: PLC0415 - pandas, for run and sweep only
    from loadtests.run import execute  # noqa: PLC0415 - psycopg, for run and sweep only
    from loadtests.trials import plan_run, plan_sweep  # noqa: PLC0415 - httpx, for run and sweep only

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
                      schedule=schedule, sources=setting_sources(env, Path.cwd()))
    if outcome.summary:
        print()
        print(outcome.summary)
    print(f"\nrun directory: {outcome.run_dir}  ({time.monotonic() - started:.0f} s)")
    if outcome.signal_name:
        return exit_code_of(outcome.signal_name)
    if not outcome.complete:
        return EXIT_FAILED
    if outcome.gates_failed:
        print("SLO gate tripped", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _up(config: RunConfig, env: dict[str, str]) -> int:
    from loadtests.export import write_stack_postman  # noqa: PLC0415 - PyYAML, for up only
    from loadtests.run import stack_config  # noqa: PLC0415 - psycopg, for up only
    from stack.services import Stack  # noqa: PLC0415 - psycopg, redis, for up only

    run_dir = create_run_dir(config.out, f"{config.label}-up")
    print("stack starting ...", flush=True)
    started = False
    try:
        with Stack(stack_config(config, run_dir, env)) as stack:
            started = True
            print(f"gateway simulator: {stack.gateway_url}")
            print(f"database: {stack.database_url}\nredis: {stack.redis_url}")
            targets: dict[str, tuple[str, list[str]]] = {}
            for name, url in stack.urls.items():
                keys = [m.api_key for m in stack.merchants.get(name, [])] or list(config.api_keys)
                targets[name] = (url, keys)
                print(f"{name}: {url}\n  PAYBENCH_API_KEYS={','.join(keys)}")
            collection, environments = write_stack_postman(run_dir / "postman", targets)
            print(f"Postman: import {collection}\n  with an environment per target: "
                  + ", ".join(str(p) for p in environments))
            print(f"logs: {run_dir / 'logs'}\nCtrl-C to stop.", flush=True)
            while True:
                time.sleep(1.0)
                stack.check_alive()
    except KeyboardInterrupt as exc:
        name = exc.name if isinstance(exc, StopSignal) else "SIGINT"
        print(f"\n{name} received; stopped.")
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - say what failed in one line, as paybench run does
        what = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {exc}"
        print(f"paybench up: {'stopped' if started else 'the stack did not start'}: {what}",
              file=sys.stderr)
        if not _remove_if_empty(run_dir):
            print(f"logs: {run_dir / 'logs'}", file=sys.stderr)
        return EXIT_FAILED


def _remove_if_empty(run_dir: Path) -> bool:
    """Remove a run directory that holds nothing but empty folders; True if it went."""
    if any(p.is_file() for p in run_dir.rglob("*")):
        return False
    for folder in sorted(run_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        folder.rmdir()
    run_dir.rmdir()
    return True


if __name__ == "__main__":
    sys.exit(main())
