"""Figures of the latency anatomy (see :mod:`reports.anatomy`): stacked bars of the median
and p99 request per target and endpoint, and the composition at each step of a capacity
search, where queueing appears at the knee. Drawn like :mod:`reports.figures`: matplotlib's
object API on the Agg canvas, no pyplot."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator

from reports import format as fmt
from reports.anatomy import ALL, LABELS, PARTS

DPI = 100
PART_COLORS: dict[str, str] = {"queue": "#9e9e9e", "app": "#1f77b4", "db": "#2ca02c",
                               "cache": "#d62728", "gateway": "#ff7f0e"}
WHICH = (("median", "median request"), ("p99", "p99 request"))


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    section = results.get("composition") or {}
    if not section.get("available"):
        return {}
    return {name: info for name, info in (section.get("targets") or {}).items()
            if info.get("timed_requests")}


def _figure(width: float, height: float, rows: int) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 2, squeeze=False)
    return fig, axes


def _value(comp: dict[str, Any] | None, part: str) -> float:
    value = ((comp or {}).get("parts_ms") or {}).get(part)
    # a mean queue below zero is clock noise of a few microseconds: drawn as nothing
    return max(float(value), 0.0) if isinstance(value, int | float) else 0.0


def _legend(fig: Figure) -> None:
    handles = [Patch(color=PART_COLORS[p], label=LABELS[p]) for p in PARTS]
    fig.legend(handles=handles, loc="upper center", ncol=len(PARTS), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, 0.995))


def fig_composition(results: dict[str, Any]) -> Figure | None:
    """Per target (a row) and endpoint (a bar): the median request (left) and the p99
    request (right) split into queue + network, app, PostgreSQL, Redis and gateway."""
    targets = _targets(results)
    if not targets:
        return None
    labels = {name: [ALL, *info["endpoints"]] for name, info in targets.items()}
    heights = [0.32 * len(rows) + 0.7 for rows in labels.values()]
    fig, axes = _figure(10.0, sum(heights) + 0.9, len(targets))
    fig.subplots_adjust(left=0.26, right=0.98, top=1 - 0.55 / (sum(heights) + 0.9),
                        bottom=0.45 / (sum(heights) + 0.9), hspace=0.55, wspace=0.08)
    for row, (name, info) in enumerate(targets.items()):
        names = labels[name]
        comps = {label: (info["all"] if label == ALL else info["endpoints"][label])
                 for label in names}
        for col, (which, title) in enumerate(WHICH):
            ax: Axes = axes[row, col]
            y = np.arange(len(names))[::-1]
            left = np.zeros(len(names))
            for part in PARTS:
                widths = np.array([_value(comps[label][which], part) for label in names])
                ax.barh(y, widths, left=left, color=PART_COLORS[part], height=0.7)
                left += widths
            for i, label in enumerate(names):
                latency = (comps[label][which] or {}).get("latency_ms")
                if isinstance(latency, int | float):
                    ax.annotate(f"{fmt.num(latency)} ms", (float(left[i]), float(y[i])),
                                xytext=(3, 0), textcoords="offset points", va="center",
                                fontsize=7)
            ax.set_yticks(y, names if col == 0 else [""] * len(names), fontsize=8)
            ax.set_xlim(0, float(left.max()) * 1.22 if left.max() > 0 else 1.0)
            ax.set_title(f"{name}: {title}", fontsize=9)
            ax.grid(axis="x", alpha=0.3)
            ax.tick_params(axis="x", labelsize=8)
        axes[row, 0].set_xlabel("ms", fontsize=8)
        axes[row, 1].set_xlabel("ms", fontsize=8)
    _legend(fig)
    return fig


def fig_composition_steps(results: dict[str, Any]) -> Figure | None:
    """Per target (a row): the median (left) and p99 (right) request's parts at each
    offered load of a capacity search or stairs sweep; the dashed line is the capacity."""
    targets = {name: info for name, info in _targets(results).items()
               if len([s for s in info.get("steps") or [] if s.get("median")]) >= 2}
    if not targets:
        return None
    caps = results.get("capacity") or {}
    first: dict[str, Any] = next(iter(caps.values()), {})
    unit = first.get("offered_unit") or "offered load"
    height = 2.6 * len(targets) + 0.9
    fig, axes = _figure(10.0, height, len(targets))
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.55 / height, bottom=0.5 / height,
                        hspace=0.45, wspace=0.18)
    for row, (name, info) in enumerate(targets.items()):
        steps = [s for s in info["steps"] if s.get("median")]
        x = np.array([float(s["offered"]) for s in steps])
        held = [s.get("sustained") for s in steps]
        for col, (which, title) in enumerate(WHICH):
            ax: Axes = axes[row, col]
            stack = [np.array([_value(s[which], part) for s in steps]) for part in PARTS]
            ax.stackplot(x, *stack, colors=[PART_COLORS[p] for p in PARTS], alpha=0.9)
            top = np.sum(stack, axis=0)
            bad = np.array([h is False for h in held])
            if bad.any():
                ax.scatter(x[bad], top[bad], marker="x", color="black", s=24, zorder=3,
                           label="not sustained")
                ax.legend(fontsize=7, loc="upper left")
            best = (caps.get(name) or {}).get("max_sustainable_offered")
            if isinstance(best, int | float):
                ax.axvline(float(best), color="black", ls="--", lw=1)
            log = unit != "users" and x.min() > 0
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_minor_locator(FixedLocator([]))
            ticks = _ticks(x, log=log)
            ax.set_xticks(ticks, [f"{v:.3g}" for v in ticks])
            ax.set_ylim(0, float(top.max()) * 1.1 if math.isfinite(top.max())
                        and top.max() > 0 else 1.0)
            ax.set_title(f"{name}: {title} at each step", fontsize=9)
            ax.set_ylabel("ms", fontsize=8)
            ax.grid(alpha=0.3, which="both")
            ax.tick_params(labelsize=8)
        axes[row, 0].set_xlabel(f"offered ({unit}; dashed = capacity)", fontsize=8)
        axes[row, 1].set_xlabel(f"offered ({unit}; dashed = capacity)", fontsize=8)
    _legend(fig)
    return fig


def _ticks(x: np.ndarray[Any, Any], *, log: bool) -> list[float]:
    """The offered loads to label: each step, but none too close to the one before (a
    bisection's steps crowd together near the capacity)."""
    values = sorted({float(v) for v in x})
    span = values[-1] / values[0] if log else values[-1] - values[0]
    kept = values[:1]
    for v in values[1:]:
        gap = math.log(v / kept[-1]) / math.log(span) if log and span > 1 else (
            (v - kept[-1]) / span if span > 0 else 0.0)
        if gap >= 1 / 12:
            kept.append(v)
    return kept


def figure_plan(results: dict[str, Any]) -> list[tuple[str, str, str, Figure | None]]:
    """The anatomy's figures as ``reports.figures.render_figures`` lists them: name, title,
    caption (ending with the sentence that names each target's dominant part), figure."""
    said = str((results.get("composition") or {}).get("sentence") or "")
    return [
        ("composition", "Where the time goes", "The median request (left) and the p99 "
         "request (right) of each target's headline trials, every request together and per "
         "endpoint, split by the services' Server-Timing header; queue + network is the "
         "client's latency minus the handler's total. " + said, fig_composition(results)),
        ("composition_steps", "Where the time goes at each step", "The same split at every "
         "offered load of the search: as the load nears a target's capacity, queueing "
         "appears (grey) while the server's own parts stay flat. " + said,
         fig_composition_steps(results)),
    ]
