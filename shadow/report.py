"""Writing a shadow report: summary.json, report.html (self-contained), report.md.

The HTML embeds its figures as data URIs so it can be attached to a review
as one file; the Markdown links the same figures from ``figures/``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from reports import markup
from shadow import figures
from shadow.analysis import Analysis
from shadow.audit import AuditResult
from shadow.summary import build_summary

TEMPLATES = Path(__file__).parent / "templates"


def _environment(markdown: bool) -> jinja2.Environment:
    # Bodies, headers and paths come from captured traffic: every value shown
    # is escaped for the format it is written in (see reports.markup).
    make = markup.markdown_environment if markdown else markup.html_environment
    env = make(
        jinja2.FileSystemLoader(TEMPLATES),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pct"] = lambda v: f"{float(v) * 100:.2f}%"
    env.filters["ms"] = lambda v: "-" if v is None else f"{float(v):.2f}"
    env.filters["js"] = lambda v: json.dumps(v, ensure_ascii=False)
    env.filters["pretty"] = _pretty
    return env


def _pretty(text: object) -> str:
    """Indent a JSON body for display; other text as is."""
    if not isinstance(text, str):
        return json.dumps(text, indent=2, ensure_ascii=False)
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def write_report(
    out_dir: str | Path,
    analysis: Analysis,
    audit: AuditResult | None,
    *,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every report file into ``out_dir``; returns the summary."""
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    summary = build_summary(analysis, audit, meta=meta)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    images: dict[str, bytes] = {}
    latencies = {side: analysis.latency(side) for side in ("primary", "secondary", "candidate")}
    cdf = figures.latency_cdf({k: v for k, v in latencies.items() if v})
    if cdf is not None:
        images["latency_cdf"] = cdf
    bars = figures.mismatch_rates(summary["endpoints"])
    if bars is not None:
        images["mismatch_rates"] = bars
    for name, data in images.items():
        (out / "figures" / f"{name}.png").write_bytes(data)
    embedded = {k: "data:image/png;base64," + base64.b64encode(v).decode()
                for k, v in images.items()}
    linked = {k: f"figures/{k}.png" for k in images}
    context = {"s": summary, "statuses": _matrix(summary)}
    (out / "report.html").write_text(
        _environment(markdown=False).get_template("report.html.j2").render(
            **context, figures=embedded))
    (out / "report.md").write_text(
        _environment(markdown=True).get_template("report.md.j2").render(
            **context, figures=linked))
    return summary


def _matrix(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The status-code matrix as rows (primary) x columns (candidate)."""
    cells = {(c["primary"], c["candidate"]): c["count"] for c in summary["status_matrix"]}
    rows = sorted({p for p, _ in cells})
    cols = sorted({c for _, c in cells})
    return {"rows": rows, "cols": cols, "cells": {f"{p}:{c}": n for (p, c), n in cells.items()}}
