"""Figures of a shadow report (matplotlib, headless), as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # reports are rendered without a display
import matplotlib.pyplot as plt

COLOURS = {"primary": "#1f77b4", "secondary": "#7f7f7f", "candidate": "#d62728"}


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def latency_cdf(latencies: Mapping[str, Sequence[float]]) -> bytes | None:
    """Empirical CDF of response time per side (log x axis)."""
    if not any(latencies.values()):
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for side, values in latencies.items():
        if not values:
            continue
        ordered = sorted(values)
        n = len(ordered)
        ax.step(ordered, [(i + 1) / n for i in range(n)], where="post",
                label=f"{side} (n={n})", color=COLOURS.get(side))
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("Response time per side")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    return _png(fig)


def mismatch_rates(rows: Sequence[Mapping[str, object]]) -> bytes | None:
    """Real mismatch rate and noise rate per endpoint (horizontal bars)."""
    rows = [r for r in rows if r.get("compared")]
    if not rows:
        return None
    names = [str(r["endpoint"]) for r in rows]
    real = [float(r["mismatch_rate"]) * 100 for r in rows]  # type: ignore[arg-type]
    noise = [float(r["noise_rate"]) * 100 for r in rows]  # type: ignore[arg-type]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    ys = list(range(len(rows)))
    ax.barh([y + 0.2 for y in ys], real, height=0.4, label="real mismatch %",
            color=COLOURS["candidate"])
    ax.barh([y - 0.2 for y in ys], noise, height=0.4, label="noise (A/A) %",
            color=COLOURS["secondary"])
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("% of compared requests")
    ax.set_xlim(0, max(100.0, *real, *noise))
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Mismatches per endpoint")
    return _png(fig)
