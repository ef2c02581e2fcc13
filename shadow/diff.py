"""Field-level differences between two answers to the same request.

Paths are JSON Pointers into the body (``/amount``, ``/data/0/status``);
pseudo-paths cover the rest: ``#status`` (status codes differ), ``#error``
(only one side errored: no response or a 5xx), ``#header/<name>`` (an
allow-listed header) and ``#body`` (non-JSON bodies, or JSON on one side
only). Kinds: changed, missing (only in the left answer), extra (only in the
right answer), type (same place, different JSON type: money ``100`` vs
``100.0`` is a type difference, never "equal").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shadow.capture import Json, SideResult
from shadow.normalize import Rules, normalize_body, normalize_headers, normalize_text

DiffKind = Literal["changed", "missing", "extra", "type", "status", "error"]
_INDEX = re.compile(r"/\d+(?=/|$)")


@dataclass(frozen=True)
class FieldDiff:
    path: str
    kind: DiffKind
    left: Json = None
    right: Json = None

    @property
    def field(self) -> str:
        """The path with list indices generalised, for counting: ``/data/*/amount``."""
        return _INDEX.sub("/*", self.path)

    def to_json(self) -> dict[str, Json]:
        return {"path": self.path, "kind": self.kind, "left": self.left, "right": self.right}


def _kind(value: Json) -> str:
    # bool is checked first: in Python it is an int, in JSON it is not a number.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def diff_values(left: Json, right: Json, path: str = "") -> list[FieldDiff]:
    """Every difference between two normalised JSON values."""
    lk, rk = _kind(left), _kind(right)
    if lk != rk:
        if "null" in (lk, rk):
            return [FieldDiff(path or "/", "changed", left, right)]
        return [FieldDiff(path or "/", "type", left, right)]
    if isinstance(left, dict) and isinstance(right, dict):
        out: list[FieldDiff] = []
        for key, value in left.items():
            sub = f"{path}/{_escape(str(key))}"
            if key not in right:
                out.append(FieldDiff(sub, "missing", value, None))
            else:
                out.extend(diff_values(value, right[key], sub))
        out.extend(
            FieldDiff(f"{path}/{_escape(str(key))}", "extra", None, value)
            for key, value in right.items()
            if key not in left
        )
        return out
    if isinstance(left, list) and isinstance(right, list):
        out = []
        for i, (a, b) in enumerate(zip(left, right, strict=False)):
            out.extend(diff_values(a, b, f"{path}/{i}"))
        out.extend(FieldDiff(f"{path}/{i}", "missing", left[i], None)
                   for i in range(len(right), len(left)))
        out.extend(FieldDiff(f"{path}/{i}", "extra", None, right[i])
                   for i in range(len(left), len(right)))
        return out
    if left != right:
        return [FieldDiff(path or "/", "changed", left, right)]
    return []


def errored(result: SideResult) -> bool:
    """No response at all, or a server error."""
    return result.status == 0 or result.status >= 500


def compare(rules: Rules, left: SideResult, right: SideResult) -> list[FieldDiff] | None:
    """Differences between two sides' answers; None when one side was not asked."""
    if left.skipped is not None or right.skipped is not None:
        return None
    if errored(left) != errored(right):
        return [FieldDiff("#error", "error", _summary(left), _summary(right))]
    diffs: list[FieldDiff] = []
    if left.status != right.status:
        diffs.append(FieldDiff("#status", "status", left.status, right.status))
    lh, rh = normalize_headers(rules, left.headers), normalize_headers(rules, right.headers)
    for name in sorted(set(lh) | set(rh)):
        if lh.get(name) != rh.get(name):
            kind: DiffKind = "changed" if name in lh and name in rh else (
                "missing" if name in lh else "extra")
            diffs.append(FieldDiff(f"#header/{name}", kind, lh.get(name), rh.get(name)))
    lj, rj = left.json_body(), right.json_body()
    if lj is not None and rj is not None:
        diffs.extend(diff_values(normalize_body(rules, lj), normalize_body(rules, rj)))
    elif (lj is None) != (rj is None) and (left.body and right.body):
        diffs.append(FieldDiff("#body", "type", left.body[:200], right.body[:200]))
    elif normalize_text(rules, left.body) != normalize_text(rules, right.body):
        diffs.append(FieldDiff("#body", "changed", left.body[:200], right.body[:200]))
    return diffs


def _summary(result: SideResult) -> str:
    if result.error is not None:
        return result.error
    return f"HTTP {result.status}"
