"""Normalisation rules: what two answers may differ in without it mattering.

Rules come from a YAML or JSON file (every key optional)::

    ignore_paths: ["/description", "/data/*/metadata"]   # JSON Pointers; * = one
    mask_paths: ["/**/gateway_txn_id"]                     # segment, ** = any depth
    mask_ids: true             # pay_..., re_..., att_... anywhere in a string
    id_prefixes: [pay, re, att]
    mask_timestamps: true      # ISO 8601 date-times anywhere in a string
    money_fields: [amount, amount_refunded]
    headers: [content-type]    # header allow-list; others are not compared
    thresholds: {relative: 20, absolute: 0.03}           # percent, as Diffy

Ignored paths are removed; masked paths keep only whether a value is present
(``null`` versus set still counts). Money is never ignored or masked and is
compared exactly, type included: ``100`` and ``100.0`` differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shadow.capture import Json
from shadow.errors import ShadowConfigError
from shadow.mapping import DEFAULT_ID_PREFIXES

MASKED = "<masked>"
TIMESTAMP = "<timestamp>"
_TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class Rules:
    ignore_paths: tuple[str, ...] = ()
    # Minted per side by the service or the gateway, in formats without a prefix_.
    mask_paths: tuple[str, ...] = (
        "/**/attempt_id", "/**/gateway_txn_id", "/**/gateway_refund_id",
    )
    mask_ids: bool = True
    id_prefixes: tuple[str, ...] = DEFAULT_ID_PREFIXES
    mask_timestamps: bool = True
    money_fields: tuple[str, ...] = ("amount", "amount_refunded")
    headers: tuple[str, ...] = ("content-type",)
    relative_threshold: float = 20.0
    absolute_threshold: float = 0.03
    _ignore: tuple[tuple[str, ...], ...] = field(default=(), repr=False, compare=False)
    _mask: tuple[tuple[str, ...], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ignore", tuple(parse_pointer(p) for p in self.ignore_paths))
        object.__setattr__(self, "_mask", tuple(parse_pointer(p) for p in self.mask_paths))
        for pattern in (*self._ignore, *self._mask):
            if pattern and pattern[-1] in self.money_fields:
                raise ShadowConfigError(
                    f"money field {pattern[-1]!r} must be compared exactly, not ignored or masked"
                )

    @property
    def id_substring(self) -> re.Pattern[str]:
        alternation = "|".join(re.escape(p) for p in self.id_prefixes)
        return re.compile(rf"\b({alternation})_[A-Za-z0-9]+")


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """RFC 6901 pointer -> segments (``~1`` is ``/``, ``~0`` is ``~``)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ShadowConfigError(f"JSON Pointer must start with '/': {pointer!r}")
    return tuple(s.replace("~1", "/").replace("~0", "~") for s in pointer[1:].split("/"))


def pointer_matches(pattern: Sequence[str], path: Sequence[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(pointer_matches(rest, path[i:]) for i in range(len(path) + 1))
    if not path:
        return False
    if head not in ("*", path[0]):
        return False
    return pointer_matches(rest, path[1:])


def _mask_text(rules: Rules, text: str) -> str:
    if rules.mask_ids:
        text = rules.id_substring.sub(r"\1_*", text)
    if rules.mask_timestamps:
        text = _TIMESTAMP_RE.sub(TIMESTAMP, text)
    return text


def normalize_text(rules: Rules, text: str) -> str:
    return _mask_text(rules, text)


def normalize_body(rules: Rules, value: Json, path: tuple[str, ...] = ()) -> Json:
    """A copy of ``value`` with ignored paths removed and ids/timestamps masked."""
    if path and any(pointer_matches(p, path) for p in rules._mask):
        return None if value is None else MASKED
    if isinstance(value, dict):
        out: dict[str, Json] = {}
        for key, item in value.items():
            sub = (*path, str(key))
            if any(pointer_matches(p, sub) for p in rules._ignore):
                continue
            out[key] = normalize_body(rules, item, sub)
        return out
    if isinstance(value, list):
        return [normalize_body(rules, item, (*path, str(i))) for i, item in enumerate(value)]
    if isinstance(value, str):
        return _mask_text(rules, value)
    return value


def normalize_headers(rules: Rules, headers: Mapping[str, str]) -> dict[str, str]:
    allowed = {h.lower() for h in rules.headers}
    return {k.lower(): _mask_text(rules, v) for k, v in headers.items() if k.lower() in allowed}


_KEYS = {
    "ignore_paths", "mask_paths", "mask_ids", "id_prefixes", "mask_timestamps",
    "money_fields", "headers", "thresholds",
}


def _strings(data: Mapping[str, Json], key: str) -> tuple[str, ...] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ShadowConfigError(f"rules: {key!r} must be a list of strings")
    return tuple(value)


def rules_from_mapping(data: Mapping[str, Json]) -> Rules:
    """Rules from a decoded file; unknown keys are errors, so typos are not silent."""
    unknown = set(data) - _KEYS
    if unknown:
        raise ShadowConfigError(f"rules: unknown keys {sorted(unknown)}")
    kwargs: dict[str, object] = {}
    for key in ("ignore_paths", "mask_paths", "id_prefixes", "money_fields", "headers"):
        value = _strings(data, key)
        if value is not None:
            kwargs[key] = value
    for key in ("mask_ids", "mask_timestamps"):
        if key in data:
            if not isinstance(data[key], bool):
                raise ShadowConfigError(f"rules: {key!r} must be true or false")
            kwargs[key] = data[key]
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, Mapping) or set(thresholds) - {"relative", "absolute"}:
        raise ShadowConfigError("rules: 'thresholds' takes only 'relative' and 'absolute'")
    for name, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ShadowConfigError(f"rules: threshold {name!r} must be a number >= 0")
        kwargs[f"{name}_threshold"] = float(value)
    return Rules(**kwargs)  # type: ignore[arg-type]  # keys checked above


def rules_to_mapping(rules: Rules) -> dict[str, Json]:
    """The rules in the file format, so a saved copy loads back to the same rules."""
    return {
        "ignore_paths": list(rules.ignore_paths), "mask_paths": list(rules.mask_paths),
        "mask_ids": rules.mask_ids, "id_prefixes": list(rules.id_prefixes),
        "mask_timestamps": rules.mask_timestamps, "money_fields": list(rules.money_fields),
        "headers": list(rules.headers),
        "thresholds": {"relative": rules.relative_threshold,
                       "absolute": rules.absolute_threshold},
    }


def load_mapping(path: str | Path, what: str) -> Mapping[str, Json]:
    """Read a YAML or JSON file that must hold an object."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShadowConfigError(f"cannot read {what} file {p}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ShadowConfigError(f"{what} file {p} is not valid YAML/JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ShadowConfigError(f"{what} file {p} must hold an object")
    return data


def load_rules(path: str | Path | None) -> Rules:
    if path is None:
        return Rules()
    return rules_from_mapping(load_mapping(path, "rules"))


def load_keys(path: str | Path | None) -> dict[str, dict[str, str]]:
    """Per-side API key maps: ``{candidate: {capture_key: side_key}, ...}``."""
    if path is None:
        return {}
    data = load_mapping(path, "keys")
    data = data.get("keys", data) if isinstance(data.get("keys"), Mapping) else data
    out: dict[str, dict[str, str]] = {}
    for side, mapping in data.items():
        if side not in ("primary", "secondary", "candidate"):
            raise ShadowConfigError(f"keys: unknown side {side!r}")
        if not isinstance(mapping, Mapping):
            raise ShadowConfigError(f"keys: {side!r} must map capture keys to {side} keys")
        out[side] = {str(k): str(v) for k, v in mapping.items()}
    return out
