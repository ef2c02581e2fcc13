"""How a run setting is declared: once, as a field of :class:`loadtests.config.RunConfig`.

A setting (a *knob*) is one field whose default is a :func:`knob` declaration::

    think_time_s: float = knob(0.0, "--think-time", LOAD,
                               "closed model: pause between a user's iterations",
                               check=not_negative, child=True)

which holds everything about it:

- its name, the field's: the ``paybench.toml`` key, and ``PAYBENCH_<NAME>`` in the
  environment (:func:`env_name`);
- its type, the field's annotation, which chooses the parser of a TOML value or a string
  from the environment or a flag (:func:`parser_for`);
- its default;
- its flag, the commands that take the flag, and its help (``--help``, the README table);
- a check of a value, run on the value of every source;
- ``child``: the Locust child reads it, as ``PAYBENCH_<NAME>``;
- ``scenarios``: the built-in scenarios that use it (given on the command line with
  another scenario, the flag is an error).

Everything else is derived from the fields: the parsers, docs and the child's reader in
:mod:`loadtests.config`, the flags and the README table in :mod:`loadtests.options`, the
child's environment in :mod:`loadtests.locust_process`, and config.json's ``knobs``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from loadtests.config import RunConfig

RUN, SWEEP, UP = "run", "sweep", "up"
LOAD = frozenset({RUN, SWEEP})
ALL = frozenset({RUN, SWEEP, UP})
COMMANDS = (RUN, SWEEP, UP)

# (knob name, value, resolved configuration) -> what is wrong, or None
Check = Callable[[str, Any, "RunConfig"], str | None]
Parser = Callable[[object], Any]
T = TypeVar("T")
_KNOB = "paybench.knob"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Knob:
    """The declaration of one setting; ``name``, ``default`` and ``parse`` come from its field."""

    flag: str
    commands: frozenset[str]
    help: str
    check: Check | None = None
    child: bool = False
    scenarios: tuple[str, ...] = ()
    metavar: str | None = None  # None: the name in capitals
    repeatable: bool = False  # the flag may be given again; its values join with commas
    flag_help: str | None = None  # the flag's help if not the doc line: "... {help} ..."
    name: str = ""
    default: Any = None
    parse: Parser = dataclasses.field(default=lambda value: value, compare=False)

    @property
    def env(self) -> str:
        """The environment variable that sets this knob."""
        return env_name(self.name)


def knob(default: T, flag: str, commands: frozenset[str], help: str, *,
         check: Check | None = None, child: bool = False, scenarios: tuple[str, ...] = (),
         metavar: str | None = None, repeatable: bool = False,
         flag_help: str | None = None) -> T:
    """A :class:`RunConfig` field declaring a setting (see the module docstring)."""
    declared = Knob(flag, commands, help, check, child, scenarios, metavar, repeatable,
                    flag_help)
    return dataclasses.field(default=default, metadata={_KNOB: declared})


def declared(cls: type) -> dict[str, Knob]:
    """Every knob declared by the fields of ``cls``, in field order, complete."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Knob] = {}
    for f in dataclasses.fields(cls):
        declaration = f.metadata.get(_KNOB)
        if declaration is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with knob()")
        out[f.name] = dataclasses.replace(declaration, name=f.name, default=f.default,
                                          parse=parser_for(hints[f.name]))
    return out


def env_name(name: str) -> str:
    """The environment variable that sets the knob ``name``."""
    return "PAYBENCH_" + name.upper()


def to_env(value: object) -> str:
    """A knob's value as its ``PAYBENCH_*`` variable holds it (its parser reads it back)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return ",".join(to_env(v) if not isinstance(v, tuple) else "=".join(v) for v in value)
    return str(value)


# -- value parsers: each accepts a native TOML value or a string from env/CLI ----------------


def _str(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _opt_str(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _str(value)


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        result = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _opt_float(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _float(value)


def _list(value: object) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError(f"expected a list or comma-separated string, got {value!r}")


def _names(value: object) -> tuple[str, ...]:
    items = _list(value)
    for item in items:
        if not NAME.match(item):
            raise ValueError(f"bad name {item!r}")
    return tuple(items)


def _ints(value: object) -> tuple[int, ...]:
    return tuple(_int(v) for v in _list(value))


def _floats(value: object) -> tuple[float, ...]:
    return tuple(_float(v) for v in _list(value))


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    items = (
        [f"{k}={v}" for k, v in value.items()] if isinstance(value, Mapping) else _list(value)
    )
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not NAME.match(name.strip()):
            raise ValueError(f"expected name=URL, got {item!r}")
        url = url.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"expected an http(s) URL for {name.strip()!r}, got {url!r}")
        pairs.append((name.strip(), url))
    return tuple(pairs)


def _path(value: object) -> Path:
    return Path(_str(value)).expanduser()


def _opt_path(value: object) -> Path | None:
    text = _opt_str(value)
    return None if text is None else Path(text).expanduser()


PARSERS_BY_TYPE: dict[object, Parser] = {
    str: _str,
    str | None: _opt_str,
    int: _int,
    float: _float,
    float | None: _opt_float,
    Path: _path,
    Path | None: _opt_path,
    tuple[str, ...]: _names,
    tuple[int, ...]: _ints,
    tuple[float, ...]: _floats,
    tuple[tuple[str, str], ...]: _pairs,
}


def parser_for(annotation: object) -> Parser:
    """The parser of a knob of type ``annotation``."""
    try:
        return PARSERS_BY_TYPE[annotation]
    except KeyError:
        raise TypeError(f"no parser for knobs of type {annotation}") from None


# -- checks of one value: each names the knob in its message ---------------------------------


def rule(ok: Callable[[Any], bool], must: str) -> Check:
    """A check that says '<knob> <must>' when ``ok(value)`` is false."""

    def check(name: str, value: Any, config: RunConfig) -> str | None:
        return None if ok(value) else f"{name} {must}"

    return check


def unless_none(check: Check) -> Check:
    """``check`` for a knob that may be unset."""

    def optional(name: str, value: Any, config: RunConfig) -> str | None:
        return None if value is None else check(name, value, config)

    return optional


def each(ok: Callable[[Any], bool], must: str) -> Check:
    """A check of every item of a list knob."""
    return rule(lambda values: all(ok(v) for v in values), must)


positive = rule(lambda v: v > 0, "must be > 0")
not_negative = rule(lambda v: v >= 0, "must be >= 0")
at_least_one = rule(lambda v: v >= 1, "must be >= 1")


def one_of(allowed: tuple[str, ...]) -> Check:
    """A check that the value is one of ``allowed``."""
    return rule(lambda v: v in allowed, f"must be one of {', '.join(allowed)}")
