"""The JSON documents of a run directory: typed records, and the one way they are written
and read.

A document is a dataclass deriving from ``Doc``: its fields are the document's keys, in
the order they are written. Every field a reader may miss is ``X | None``: files written
before a key existed, by hand, or by an interrupted run load with None there, and a value
of the wrong type reads as None too (the report then says what it does not know) rather
than failing the whole run. Nested documents are ``Doc`` fields of their own.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self


class DocError(Exception):
    """A JSON file of the run directory is missing, unreadable or not an object."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class _Invalid(Exception):
    """A value does not have the type its field declares."""


class Doc:
    """Base of the run directory's documents (each a dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    # keys written only when their value is not None (older files and other producers
    # do not have them either)
    OMIT_NONE: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """The document as a JSON object, keys in field order."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if value is None and f.name in self.OMIT_NONE:
                continue
            out[f.name] = _dump(value)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Self:
        """Read a JSON object: missing keys and values of the wrong type become the field's
        default (None); keys the document does not declare are ignored."""
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            default = None if f.default is dataclasses.MISSING else f.default
            try:
                values[f.name] = _conform(doc[f.name], hints[f.name]) if f.name in doc else default
            except _Invalid:
                values[f.name] = default
        return cls(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _dump(value: Any) -> Any:
    if isinstance(value, Doc):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _conform(value: Any, hint: Any) -> Any:
    """``value`` if it has the type ``hint`` (JSON arrays become the declared list or tuple,
    objects the declared ``Doc``); raises ``_Invalid`` otherwise. Integers stay integers
    where a float is declared, so a document reads back exactly as it was written."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _conform(value, arm)
            except _Invalid:
                continue
        raise _Invalid
    if origin is list and isinstance(value, list):
        return [_conform(v, args[0]) for v in value]
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(_conform(v, args[0]) for v in value)
    if origin is dict and isinstance(value, dict):
        return {str(k): _conform(v, args[1]) for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Doc) and isinstance(value, dict):
        return hint.from_json(value)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    raise _Invalid


def dumps(data: Any, *, indent: int = 2, allow_nan: bool = True,
          default: Callable[[Any], Any] | None = None) -> str:
    """JSON text as the run directory holds it: indented, keys in order, a final newline."""
    return json.dumps(data, indent=indent, allow_nan=allow_nan, default=default) + "\n"


def write_json(path: Path, data: Any, *, allow_nan: bool = True,
               default: Callable[[Any], Any] | None = None) -> None:
    """Write a JSON file atomically (a reader never sees half a file)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(data, allow_nan=allow_nan, default=default), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    """A JSON file's content; ``DocError`` when it is missing or unparsable."""
    if not path.exists():
        raise DocError(path, "missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocError(path, f"corrupt JSON ({exc})") from exc


def read_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object; ``DocError`` otherwise."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DocError(path, "expected a JSON object")
    return data
