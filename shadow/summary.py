"""The shadow run's verdict as plain data (``summary.json``) and the CI exit code.

Everything the HTML and Markdown reports show comes from this one object, so
a CI job reading ``summary.json`` sees exactly what a reviewer reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shadow.analysis import Analysis, percentiles
from shadow.audit import AuditResult
from shadow.capture import SIDES

MAX_BODY_CHARS = 4000


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_BODY_CHARS:
        return text
    return text[:MAX_BODY_CHARS] + "...(truncated)"


def build_summary(
    analysis: Analysis,
    audit: AuditResult | None,
    *,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready verdict: totals, per endpoint, fields, matrix, examples, audit."""
    rules = analysis.rules
    endpoints = []
    fields = []
    for stats in sorted(analysis.endpoints.values(), key=lambda e: e.endpoint):
        endpoints.append({
            "endpoint": stats.endpoint,
            "requests": stats.requests,
            "compared": stats.compared,
            "skipped": stats.skipped,
            "raw_mismatches": stats.raw_mismatches,
            "real_mismatches": stats.real_mismatches,
            "noise_mismatches": stats.noise_mismatches,
            "mismatch_rate": stats.mismatch_rate,
            "noise_rate": stats.noise_rate,
            "latency_ms": {side: percentiles(v) for side, v in stats.latency.items()},
        })
        for path, count in sorted(stats.fields.items()):
            fields.append({
                "endpoint": stats.endpoint, "path": path, "raw": count.raw,
                "noise": count.noise, "requests": stats.compared,
                "significant": count.significant,
            })
    examples = []
    for example in analysis.examples:
        ex = example.exchange
        examples.append({
            "id": ex.id,
            "endpoint": example.endpoint,
            "diffs": [d.to_json() for d in example.diffs],
            "request": {**ex.request.to_json(), "body": _clip(ex.request.body),
                        "headers": {k: v for k, v in ex.request.headers.items()
                                    if k != "authorization"}},
            "primary": _side(ex.sides.get("primary")),
            "candidate": _side(ex.sides.get("candidate")),
        })
    flags = audit.flags if audit is not None else []
    real = analysis.real_mismatches
    compared = analysis.compared
    return {
        "meta": dict(meta or {}),
        "thresholds": {"relative": rules.relative_threshold,
                       "absolute": rules.absolute_threshold},
        "requests": analysis.requests,
        "compared": compared,
        "skipped": analysis.skipped,
        "real_mismatches": real,
        "mismatch_rate": real / compared if compared else 0.0,
        "noise_mismatches": analysis.noise_mismatches,
        "has_secondary": analysis.has_secondary,
        "endpoints": endpoints,
        "fields": fields,
        "status_matrix": [
            {"primary": p, "candidate": c, "count": n}
            for (p, c), n in sorted(analysis.status_matrix.items())
        ],
        "latency_ms": {side: percentiles(analysis.latency(side)) for side in SIDES
                       if analysis.latency(side)},
        "examples": examples,
        "audit": audit.to_json() if audit is not None else None,
        "audit_flags": len(flags),
        "verdict": "fail" if real or flags else "pass",
    }


def _side(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    data: dict[str, Any] = result.to_json()
    data["body"] = _clip(data.get("body"))
    data.pop("initial_body", None)
    return data


def exit_code(summary: Mapping[str, Any], fail_on_mismatch: bool) -> int:
    """1 for CI when real mismatches or audit flags exist and the caller asked to fail."""
    return 1 if fail_on_mismatch and summary.get("verdict") == "fail" else 0
