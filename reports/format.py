"""Number formatting shared by the HTML, Markdown and plain-text renderings."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any


def num(value: Any, digits: int = 3) -> str:
    """A number with about ``digits`` significant digits; '-' for missing."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    if not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    mag = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - mag)
    return f"{value:,.{decimals}f}"


def pct(value: Any, digits: int = 2) -> str:
    """A ratio shown as a percentage."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value * 100:.{digits}f}%"


def interval(summary: dict[str, Any], *, percent: bool = False) -> str:
    """'187 (178-189)' for a median with its interval."""
    fmt = pct if percent else num
    median = summary.get("median")
    if median is None:
        return "-"
    low, high = summary.get("low"), summary.get("high")
    if low is None or high is None or summary.get("n", 0) < 2:
        return fmt(median)
    return f"{fmt(median)} ({fmt(low)}-{fmt(high)})"


def ratio(value: Any) -> str:
    """'3.48x'."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value:.1f}x" if abs(value) >= 10 else f"{value:.2f}x"


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as dotted key/value rows for the environment and settings tables."""
    rows: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            rows.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            rows.extend(flatten(value, f"{prefix}[{i}]"))
    else:
        text = ", ".join(map(str, data)) if isinstance(data, list) else when(prefix, data)
        rows.append((prefix, text if len(text) <= 300 else text[:297] + "..."))
    return rows


def when(key: str, value: Any) -> str:
    """A value as text; an epoch under a key ending in ``_at`` as a UTC date and time."""
    if (key.rsplit(".", 1)[-1].endswith("_at") and isinstance(value, int | float)
            and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        stamp = datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{stamp} (epoch {value:.0f})"
    return str(value)


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, one line)."""
    return str(value).replace("|", "\\|").replace("\n", " ")
