"""Which ``paybench`` command takes which option, when an option applies, and the docs table.

Every knob of :class:`loadtests.config.RunConfig` declares its flag and the commands that
take it; this module turns the declarations into ``argparse`` options. A command accepts
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
from pathlib import Path
from typing import Any

from loadtests.config import QUICK_DOC, SETTINGS, RunConfig
from loadtests.knobs import COMMANDS, LOAD, SWEEP, UP, Knob

OPTIONS: tuple[Knob, ...] = tuple(SETTINGS.values())  # in the order of --help
BY_KNOB = {o.name: o for o in OPTIONS}
BY_FLAG = {o.flag: o for o in OPTIONS}
QUICK_FLAG = Knob("--quick", LOAD, QUICK_DOC, name="quick")

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
    if command in QUICK_FLAG.commands:
        parser.add_argument("--quick", action="store_true",
                            help=("short preset: " + QUICK_DOC).replace("%", "%%"))
    for option in OPTIONS:
        if command not in option.commands:
            continue
        shown = show_default(option.default)
        text = option.help + (f" (default: {shown})" if shown else "")
        if option.flag_help is not None:
            text = option.flag_help.format(help=text)
        parser.add_argument(option.flag, dest=option.name, default=None,
                            action="append" if option.repeatable else "store",
                            metavar=option.metavar or option.name.upper(),
                            help=text.replace("%", "%%"))


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
    scenarios = BY_KNOB[knob].scenarios
    if scenarios and config.locustfile is None and config.scenario not in scenarios:
        return (f"it applies to the {_and(scenarios)} scenario"
                f"{'s' if len(scenarios) > 1 else ''}, and this {command} runs "
                f"{config.scenario}")
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


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
    lines = ["| flag | environment / paybench.toml | default | commands | what it sets |",
             "|---|---|---|---|---|"]
    for option in OPTIONS:
        shown = show_default(option.default)
        flag = option.flag + (f" {option.metavar} (repeatable)" if option.repeatable else "")
        commands = ", ".join(c for c in COMMANDS if c in option.commands)
        lines.append(f"| `{flag}` | `{option.env}` / `{option.name}` | "
                     f"{'`' + shown + '`' if shown else '-'} | {commands} | "
                     f"{_cell(option.help)} |")
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
