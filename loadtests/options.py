"""Which ``paybench`` command takes which option, when an option applies, and the docs table.

Every knob of :class:`loadtests.config.RunConfig` has one flag here. A command accepts
(and its ``--help`` lists) only the flags of its own options; a flag of another command is
an error that names the command it belongs to. A flag the command knows can still not
apply to the load model at hand (``--trials`` to a capacity search, ``--think-time`` to
the open model, ``--step-duration`` to a sweep without stairs): given on the command line,
that is an error too. ``PAYBENCH_*`` variables and ``paybench.toml`` may hold settings
shared by several commands, so a value from there that a command does not use is not an
error (it is still validated).

``python -m loadtests.options`` prints the Markdown table of every knob (flag, environment
variable, default, commands, help); ``--write README`` replaces the table between the
``knobs:start``/``knobs:end`` markers of that file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.config import DOCS, KNOBS, QUICK_DOC, RunConfig, env_name

RUN, SWEEP, UP = "run", "sweep", "up"
LOAD = frozenset({RUN, SWEEP})
ALL = frozenset({RUN, SWEEP, UP})


@dataclass(frozen=True)
class Option:
    """A command-line flag of one knob and the commands that take it."""

    flag: str
    knob: str
    commands: frozenset[str]


OPTIONS: tuple[Option, ...] = (
    # the stack: every command that starts one
    Option("--label", "label", ALL),
    Option("--targets", "targets", ALL),
    Option("--workers", "workers", ALL),
    Option("--db-pool-size", "db_pool_size", ALL),
    Option("--gateway-profile", "gateway_profile", ALL),
    Option("--gateway-timeout", "gateway_timeout_s", ALL),
    Option("--reconcile-interval", "reconcile_interval_s", ALL),
    Option("--merchants", "merchants", ALL),
    Option("--seed", "seed", ALL),
    Option("--database-url", "database_url", ALL),
    Option("--redis-url", "redis_url", ALL),
    Option("--target-url", "target_urls", ALL),
    Option("--api-keys", "api_keys", ALL),
    Option("--out", "out", ALL),
    # the load
    Option("--scenario", "scenario", LOAD),
    Option("--locustfile", "locustfile", LOAD),
    Option("--model", "load_model", LOAD),
    Option("--users", "users", LOAD),
    Option("--spawn-rate", "spawn_rate", LOAD),
    Option("--rate", "rate", LOAD),
    Option("--duration", "duration_s", LOAD),
    Option("--warmup", "warmup_s", LOAD),
    Option("--drain", "drain_s", LOAD),
    Option("--trials", "trials", frozenset({RUN})),
    Option("--order", "order", LOAD),
    Option("--think-time", "think_time_s", LOAD),
    Option("--processes", "processes", LOAD),
    Option("--idle-timeout", "idle_timeout_s", LOAD),
    Option("--stop-timeout", "stop_timeout_s", LOAD),
    Option("--open-late-ms", "open_late_ms", LOAD),
    Option("--open-drop-after-ms", "open_drop_after_ms", LOAD),
    Option("--open-max-behind", "open_max_behind", LOAD),
    Option("--slo", "slo", LOAD),
    Option("--slo-targets", "slo_targets", LOAD),
    # the capacity search
    Option("--slo-factor", "slo_factor", LOAD),
    Option("--search-start", "search_start", LOAD),
    Option("--search-floor", "search_floor", LOAD),
    Option("--search-resolution", "search_resolution", LOAD),
    Option("--search-warmup", "search_warmup_s", LOAD),
    Option("--search-duration", "search_duration_s", LOAD),
    Option("--confirm-trials", "confirm_trials", LOAD),
    # sweeps
    Option("--sweep-users", "sweep_users", frozenset({SWEEP})),
    Option("--sweep-rates", "sweep_rates", frozenset({SWEEP})),
    Option("--sweep-profiles", "sweep_profiles", frozenset({SWEEP})),
    Option("--sweep-gateway-ms", "sweep_gateway_ms", frozenset({SWEEP})),
    Option("--step-duration", "step_duration_s", frozenset({SWEEP})),
    Option("--step-warmup", "step_warmup_s", frozenset({SWEEP})),
    Option("--step-trials", "step_trials", frozenset({SWEEP})),
)
BY_KNOB = {o.knob: o for o in OPTIONS}
BY_FLAG = {o.flag: o for o in OPTIONS}
QUICK_FLAG = Option("--quick", "quick", LOAD)
assert set(BY_KNOB) == set(KNOBS), "every knob needs exactly one flag"

CAPACITY_ONLY = frozenset({"slo_factor", "search_start", "search_floor", "search_resolution",
                           "search_warmup_s", "search_duration_s", "confirm_trials"})
STEP_ONLY = frozenset({"step_duration_s", "step_warmup_s", "step_trials"})
RATE_ONLY = frozenset({"open_late_ms", "open_drop_after_ms", "open_max_behind"})


def show_default(value: Any) -> str:
    """A default as the docs show it ('' when there is none)."""
    if value is None or value == ():
        return ""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def add_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of ``command``, each defaulting to None so 'not given' is distinguishable."""
    defaults = RunConfig()
    if command in QUICK_FLAG.commands:
        parser.add_argument("--quick", action="store_true",
                            help=("short preset: " + QUICK_DOC).replace("%", "%%"))
    for option in OPTIONS:
        if command not in option.commands:
            continue
        shown = show_default(getattr(defaults, option.knob))
        text = DOCS[option.knob] + (f" (default: {shown})" if shown else "")
        if option.knob == "target_urls":
            parser.add_argument(option.flag, dest="target_url", action="append", default=None,
                                metavar="NAME=URL",
                                help="an already running target (repeatable; "
                                + text.replace("%", "%%") + ")")
            continue
        parser.add_argument(option.flag, dest=option.knob, default=None,
                            metavar=option.knob.upper(), help=text.replace("%", "%%"))


def foreign_flags(command: str, extras: Iterable[str]) -> list[str]:
    """Messages for the flags among ``extras`` that belong to another command."""
    out: list[str] = []
    for token in extras:
        flag = token.split("=", 1)[0]
        option = BY_FLAG.get(flag) or (QUICK_FLAG if flag == "--quick" else None)
        if option is None or command in option.commands:
            continue
        others = " and ".join(f"paybench {c}" for c in sorted(option.commands))
        out.append(f"{flag} is not an option of paybench {command}: it belongs to {others}")
    return out


def load_shape(config: RunConfig, command: str) -> tuple[str, bool, bool]:
    """The load model a command will use; whether it steps stairs of users or rates; and
    whether its trials are steps of fixed load (stairs, or a closed or open model at each
    gateway setting of a sweep), which last ``step_*`` seconds."""
    if command == SWEEP and config.sweep_users:
        return "closed", True, True
    if command == SWEEP and config.sweep_rates:
        return "open", True, True
    return config.model, False, command == SWEEP and config.model != "capacity"


def why_not(knob: str, config: RunConfig, command: str) -> str | None:
    """Why ``knob`` does not apply to ``command`` with ``config`` (None: it applies)."""
    model, stairs, stepped = load_shape(config, command)
    if command == UP:
        return None  # up only has stack options
    if knob in CAPACITY_ONLY and model != "capacity":
        return (f"it applies to the capacity search, and this {command} uses "
                + ("stairs" if stairs else f"the {model} model (--users or --rate)"))
    if knob == "trials" and model == "capacity":
        return "a capacity search confirms with --confirm-trials"
    if knob in RATE_ONLY and model == "closed":
        return "it applies to offered rates (the open model and the capacity search)"
    if knob == "think_time_s" and model != "closed":
        return "an open-model iteration starts on schedule, never after a think time"
    if knob == "stop_timeout_s" and config.locustfile is None:
        return "it applies to a custom --locustfile's users (built-in scenarios drain)"
    if knob in STEP_ONLY and not stepped:
        return ("it applies to sweeps of fixed load (--sweep-users or --sweep-rates stairs, "
                "or --users/--rate at each gateway setting), not to a capacity search")
    if knob in ("duration_s", "warmup_s") and stepped:
        return "the steps of this sweep last --step-duration and --step-warmup"
    if knob in ("rate", "load_model") and stairs:
        return "the stairs set the load (--sweep-users: closed, --sweep-rates: open)"
    if knob == "users" and stairs and model == "closed":
        return "--sweep-users gives the user counts"
    if knob == "slo_targets" and not config.slo:
        return "it chooses the targets of the --slo gates, and no --slo is set"
    return None


def inapplicable(given: Iterable[str], config: RunConfig, command: str) -> list[str]:
    """Messages for the knobs given on the command line that ``command`` would not use."""
    out = []
    for knob in given:
        reason = why_not(knob, config, command)
        if reason is not None:
            out.append(f"{BY_KNOB[knob].flag} does not apply: {reason}")
    return out


# -- the docs table ---------------------------------------------------------------------

START, END = "<!-- knobs:start -->", "<!-- knobs:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def knob_table() -> str:
    """Markdown table of every knob: flag, environment variable, default, commands, help."""
    defaults = RunConfig()
    lines = ["| flag | environment / paybench.toml | default | commands | what it sets |",
             "|---|---|---|---|---|"]
    for option in OPTIONS:
        shown = show_default(getattr(defaults, option.knob))
        flag = option.flag + (" NAME=URL (repeatable)" if option.knob == "target_urls" else "")
        commands = ", ".join(c for c in (RUN, SWEEP, UP) if c in option.commands)
        lines.append(f"| `{flag}` | `{env_name(option.knob)}` / `{option.knob}` | "
                     f"{'`' + shown + '`' if shown else '-'} | {commands} | "
                     f"{_cell(DOCS[option.knob])} |")
    lines.append(f"| `--quick` | - | - | run, sweep | {_cell(QUICK_DOC)} |")
    return "\n".join(lines)


def readme_table(text: str) -> str | None:
    """The table between the markers of a README's text (None without markers)."""
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def write_readme(path: Path) -> bool:
    """Replace the table between the markers of ``path``; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    if readme_table(text) is None:
        raise ValueError(f"{path} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{START}\n{knob_table()}\n{END}{tail}"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Print the knob table, or write it into a README (``--write PATH``)."""
    parser = argparse.ArgumentParser(prog="python -m loadtests.options",
                                     description="The table of every paybench knob.")
    parser.add_argument("--write", type=Path, metavar="README",
                        help="replace the table between the knobs markers of this file")
    args = parser.parse_args(argv)
    if args.write is None:
        print(knob_table())
        return 0
    try:
        changed = write_readme(args.write)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.write}: {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
