"""Figures of a report, drawn with matplotlib's object API on the Agg canvas.

Each ``fig_*`` function takes the results document (and, for the two figures that
need raw data, the loaded run) and returns a ``Figure`` or None when the run has no
data for it. ``render_figures`` writes them as PNG files. No pyplot: figures are never
registered globally, so rendering is safe in tests, notebooks and servers.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatter

from reports import stats
from reports.anatomy_figures import figure_plan as anatomy_figure_plan
from reports.headline import ALL_STEPS
from reports.load import RunData
from rundir.trial import TrialMeta

DPI = 100
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@dataclass(frozen=True)
class FigureFile:
    """A written figure: its file name under ``figures/``, title and caption."""

    name: str
    title: str
    caption: str
    path: Path


def _colors(results: dict[str, Any]) -> dict[str, str]:
    return {name: COLORS[i % len(COLORS)] for i, name in enumerate(results["targets"])}


def _fig(width: float = 8.0, height: float = 4.5, *, bottom: float = 0.12,
         hspace: float = 0.3) -> Figure:
    # Fixed margins instead of a layout engine: constrained layout triples savefig time.
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.91, bottom=bottom, hspace=hspace)
    FigureCanvasAgg(fig)  # Agg explicitly: no display, no pyplot state
    return fig


def _plain_log_y(ax: Axes) -> None:
    """Log y axis labelled 20, 50, 100 rather than 2x10^1."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _one_load(results: dict[str, Any]) -> list[str]:
    """Targets whose headline trials share one load (not a sweep's trials of every step)."""
    return [name for name, info in results["targets"].items()
            if info.get("summary_scope") != ALL_STEPS]


def fig_throughput(results: dict[str, Any]) -> Figure | None:
    """Median throughput per target with its interval, every trial as a dot (not for a
    sweep, whose trials ran at different loads: its steps are in the capacity figure)."""
    targets = results["targets"]
    if not targets or results.get("per_step"):
        return None
    colors = _colors(results)
    fig = _fig()
    ax = fig.add_subplot()
    for i, (name, info) in enumerate(targets.items()):
        s = info["summary"]["throughput_rps"]
        if s["median"] is not None:
            err = [[s["median"] - s["low"]], [s["high"] - s["median"]]]
            ax.bar(i, s["median"], color=colors[name], alpha=0.6, width=0.6,
                   label=f"{name} median ({s['confidence']:.0%} interval)")
            ax.errorbar(i, s["median"], yerr=err, color="black", capsize=6, lw=1.5)
        for trial in results["trials"]:
            if trial["target"] != name or trial["throughput_rps"] is None:
                continue
            marker = "o" if trial["valid"] else "x"
            ax.scatter(i + 0.18, trial["throughput_rps"], color="black" if trial["valid"] else
                       "red", marker=marker, zorder=3, s=22)
    ax.scatter([], [], color="black", marker="o", s=22, label="valid trial")
    ax.scatter([], [], color="red", marker="x", s=22, label="invalid trial")
    ax.set_xticks(range(len(targets)), list(targets))
    ax.set_ylabel("throughput (requests/s)")
    ax.set_xlabel("target")
    ax.set_title("Throughput per target (median over valid trials)")
    # headroom above the tallest bar or dot, so the legend never covers data
    tops = [t["throughput_rps"] for t in results["trials"] if t["throughput_rps"] is not None]
    tops += [i["summary"]["throughput_rps"]["high"] or 0 for i in targets.values()]
    ax.set_ylim(0, max([*tops, 1.0]) * 1.35)
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _merged_spectrum(run: RunData, results: dict[str, Any], target: str) -> tuple[Any, Any]:
    used = set(results["targets"][target]["summary_trials"])
    trials = [t for t in run.trials if t.dir_name in used]
    if trials and all(t.hdr is not None for t in trials):
        return stats.hdr_spectrum(*(t.hdr for t in trials))
    lat = np.concatenate([t.measured["latency_ms"].to_numpy(dtype=np.float64) for t in trials]) \
        if trials else np.empty(0)
    return stats.raw_spectrum(lat)


def fig_spectrum(run: RunData, results: dict[str, Any]) -> Figure | None:
    """Latency by percentile (HDR style): x is 1/(1-q) on a log axis."""
    colors = _colors(results)
    fig = _fig()
    ax = fig.add_subplot()
    drawn = False
    top = 10.0
    for name in _one_load(results):
        q, values = _merged_spectrum(run, results, name)
        if len(q) == 0:
            continue
        x = 1.0 / (1.0 - q)
        top = max(top, float(x[-1]))
        ax.plot(x, values, color=colors[name], lw=2, label=name)
        drawn = True
    if not drawn:
        return None
    ticks = [t for t in (1, 2, 10, 100, 1000, 10_000, 100_000, 1_000_000) if t <= top * 1.01]
    ax.set_xscale("log")
    _plain_log_y(ax)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _pos: f"{(1 - 1 / x) * 100:.{max(0, round(math.log10(x)) - 2)}f}%"))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    p99 = _objective_ms(results)  # the objective the report's header shows
    if p99 is not None:
        ax.axhline(p99, color="grey", ls=":", lw=1, label=f"objective p99 {p99:g} ms")
    ax.set_xlabel("percentile (log scale of 1/(1-q))")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Latency percentile spectrum (valid trials merged)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def _binned(t: np.ndarray[Any, Any], lat: np.ndarray[Any, Any], origin: float,
            width: float) -> pd.DataFrame:
    bins = np.floor((t - origin) / width).astype(np.int64)
    frame = pd.DataFrame({"bin": bins, "lat": lat})
    grouped = frame.groupby("bin")["lat"]
    out = pd.DataFrame({"p50": grouped.quantile(0.5), "p99": grouped.quantile(0.99)})
    out.index = out.index.astype(np.float64) * width + width / 2
    return out


def fig_latency_over_time(run: RunData, results: dict[str, Any]) -> Figure | None:
    """p50 and p99 per time bin for every trial, one panel per target; warm-up shaded."""
    names = list(results["targets"])
    if not names or not run.trials:
        return None
    by_name = {t["trial"]: t for t in results["trials"]}
    shown = _time_trials(results)
    height = 2.6 * len(names) + 0.6
    fig = _fig(8.0, height, bottom=0.5 / height, hspace=0.35)
    axes = fig.subplots(len(names), 1, squeeze=False, sharex=True)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        trials = [t for t in run.trials if t.target == name and len(t.samples)
                  and (shown is None or t.dir_name in shown)]
        for k, trial in enumerate(trials):
            info = by_name[trial.dir_name]
            t = trial.samples["t"].to_numpy(dtype=np.float64)
            origin = _trial_origin(info, trial.meta, t)
            span = float(t.max() - origin) if t.size else 0.0
            width = max(1.0, span / 60.0)
            binned = _binned(t, trial.samples["latency_ms"].to_numpy(dtype=np.float64), origin,
                             width)
            color = COLORS[k % len(COLORS)]
            style = "-" if info["valid"] else "--"
            label = trial.dir_name + ("" if info["valid"] else " (invalid)")
            ax.plot(binned.index, binned["p99"], color=color, ls=style, lw=1.4,
                    label=f"{label} p99")
            ax.plot(binned.index, binned["p50"], color=color, ls=style, lw=0.8, alpha=0.6)
            warm = trial.meta.warmup_s
            if k == 0 and warm is not None and warm > 0:
                ax.axvspan(0, float(warm), color="grey", alpha=0.15, label="warm-up (excluded)")
            end = info.get("window_start"), info.get("window_s")
            if k == 0 and all(isinstance(v, int | float) for v in end) and span > 0:
                edge = float(end[0]) + float(end[1]) - origin
                if span > edge:
                    ax.axvspan(edge, span, color="tab:orange", alpha=0.1,
                               label="drain (latency counted, throughput not)")
        _plain_log_y(ax)
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"{name}: p99 (thick) and p50 (thin) per time bin", fontsize=10)
        ax.grid(alpha=0.3)
        if trials:
            ax.legend(fontsize=7, ncol=2, loc="best")
    axes[-1].set_xlabel("time since trial start (s)")
    return fig


def _time_trials(results: dict[str, Any]) -> set[str] | None:
    """A capacity run's trials at capacity (its steps would crowd the figure)."""
    if not results.get("capacity_search"):
        return None
    return {name for info in results["targets"].values() for name in info["summary_trials"]}


def _trial_origin(info: dict[str, Any], meta: TrialMeta, t: np.ndarray[Any, Any]) -> float:
    """Start of the trial's schedule: window start minus warm-up, else its first sample."""
    start, warm = info.get("window_start"), meta.warmup_s
    if isinstance(start, int | float) and warm is not None:
        return float(start) - float(warm)
    started = info.get("started_at")
    return float(started) if isinstance(started, int | float) else float(t.min())


def fig_errors(results: dict[str, Any]) -> Figure | None:
    """Error ratio of every trial, grouped by target (None when no request failed: the
    report says so in words rather than with an empty frame)."""
    trials = [t for t in results["trials"] if t["error_ratio"] is not None]
    if not any(t["error_ratio"] for t in trials):
        return None
    colors = _colors(results)
    fig = _fig(bottom=0.2)
    ax = fig.add_subplot()
    labels = [t["trial"] for t in trials]
    values = [t["error_ratio"] * 100.0 for t in trials]
    bars = ax.bar(range(len(trials)), values, color=[colors[t["target"]] for t in trials])
    for bar, trial in zip(bars, trials, strict=True):
        if not trial["valid"]:
            bar.set_hatch("//")
            bar.set_alpha(0.5)
    slo = float(((results.get("capacity_search") or {}).get("objective")
                 or results["slo"])["error_ratio"]) * 100.0
    ax.axhline(slo, color="grey", ls=":", lw=1, label=f"SLO {slo:g}%")
    ax.set_ylim(0, max([*values, slo]) * 1.15)
    ax.set_xticks(range(len(trials)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("error ratio (% of measured requests)")
    ax.set_xlabel("trial (hatched = invalid)")
    ax.set_title("Errors per trial")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def fig_cpu(results: dict[str, Any]) -> Figure | None:
    """CPU seconds per 1,000 requests by process role (median over valid trials), stacked."""
    per_target: dict[str, dict[str, float]] = {}
    for name in _one_load(results):
        info = results["targets"][name]
        used = [t for t in results["trials"] if t["trial"] in set(info["summary_trials"])]
        roles: dict[str, list[float]] = {}
        for t in used:
            if t["requests"]:
                for role, sec in t["cpu_s_by_role"].items():
                    roles.setdefault(role, []).append(sec * 1000.0 / t["requests"])
        if roles:
            per_target[name] = {r: float(np.median(v)) for r, v in roles.items()}
    if not per_target:
        return None
    # target roles first, in the targets' own colours, then shared processes
    colors = _colors(results)
    others = sorted({r for roles in per_target.values() for r in roles} - set(colors))
    all_roles = [r for r in colors if any(r in roles for roles in per_target.values())] + others
    shared = ("#7f7f7f", "#bcbd22", "#17becf", "#e377c2", "#8c564b", "#c7c7c7", "#9467bd")
    role_color = {r: colors.get(r) or shared[i % len(shared)] for i, r in enumerate(all_roles)}
    fig = _fig()
    ax = fig.add_subplot()
    names = list(per_target)
    bottom = np.zeros(len(names))
    for role in all_roles:
        vals = np.array([per_target[n].get(role, 0.0) for n in names])
        ax.bar(names, vals, bottom=bottom, label=role, color=role_color[role], width=0.5)
        bottom += vals
    ax.set_ylabel("CPU seconds per 1,000 requests")
    ax.set_xlabel("target under load")
    ax.set_title("CPU cost per 1,000 requests, by process role")
    ax.legend(fontsize=8, title="role", title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def fig_capacity(results: dict[str, Any]) -> Figure | None:
    """The hockey stick: p50 and p99 against offered rate per target, the objective and each
    target's capacity marked; below it, completed requests/s against offered rate."""
    caps = results.get("capacity")
    if not caps:
        return None
    colors = _colors(results)
    fig = _fig(8.0, 7.0, bottom=0.08, hspace=0.15)
    ax_p, ax_t = fig.subplots(2, 1, sharex=True)
    unit = next(iter(caps.values()))["offered_unit"]
    for name, cap in caps.items():
        rows = sorted((r for r in cap["steps"] if r.get("offered") is not None),
                      key=lambda r: r["offered"])
        if not rows:
            continue
        # one line through the median of each rate; every trial as a point
        x_all = np.array([r["offered"] for r in rows], dtype=np.float64)
        held = np.array([r.get("sustained") is True for r in rows])
        p99_all = np.array([_nan(r.get("p99_ms")) for r in rows])
        done_all = np.array([_nan(r.get("completed_rps")) for r in rows])
        x = np.unique(x_all)
        p99 = np.array([_median(p99_all[x_all == v]) for v in x])
        p50 = np.array([_median([_nan(r.get("p50_ms")) for r in rows if r["offered"] == v])
                        for v in x])
        done = np.array([_median(done_all[x_all == v]) for v in x])
        ax_p.plot(x, p99, "-", color=colors[name], lw=1.4, label=f"{name} p99")
        ax_p.plot(x, p50, ":", color=colors[name], lw=1.0, label=f"{name} p50")
        ax_p.scatter(x_all[held], p99_all[held], s=10, color=colors[name], zorder=3)
        ax_p.scatter(x_all[~held], p99_all[~held], marker="x", color=colors[name], zorder=3)
        ax_t.plot(x, done, "-", color=colors[name], label=name)
        ax_t.scatter(x_all[held], done_all[held], s=10, color=colors[name], zorder=3)
        ax_t.scatter(x_all[~held], done_all[~held], marker="x", s=40, color=colors[name],
                     zorder=3)
        best = cap.get("max_sustainable_offered")
        if best is not None:
            for ax in (ax_p, ax_t):
                ax.axvline(best, color=colors[name], ls="--", lw=1)
            ax_t.annotate(f"{name} capacity", (best, 0), xytext=(-4, 4), ha="right",
                          textcoords="offset points", fontsize=8, color=colors[name])
    objective = _objective_ms(results)
    if objective is not None:
        ax_p.axhline(objective, color="red", ls=":", lw=1,
                     label=f"objective p99 {objective:g} ms")
    ax_p.set_ylabel("latency (ms, log scale)")
    _plain_log_y(ax_p)
    ax_t.set_ylabel("completed (requests/s)")
    if unit != "users":
        ax_p.set_xscale("log")
    ax_t.set_xlabel(f"offered load ({unit}; x = not sustained)")
    ax_p.set_title("Capacity: latency and completed requests against offered load "
                   "(dashed = capacity)")
    for ax in (ax_p, ax_t):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, ncol=2)
    return fig


def _nan(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _median(values: Any) -> float:
    """The median of the figures that exist; NaN, without numpy's warning, when none does
    (a step cut short before it measured anything)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(np.median(arr)) if arr.size else math.nan


def _objective_ms(results: dict[str, Any]) -> float | None:
    search = results.get("capacity_search")
    if search:
        return float(search["objective"]["p99_ms"])
    slo = results.get("slo") or {}
    value = slo.get("p99_ms")
    return float(value) if isinstance(value, int | float) else None


def fig_capacity_sweep(results: dict[str, Any]) -> Figure | None:
    """Capacity of each target, and the candidate/baseline ratio, against gateway latency."""
    search = results.get("capacity_search") or {}
    points = [p for p in search.get("points") or [] if p.get("gateway_latency_ms") is not None]
    if len(points) < 2:
        return None
    colors = _colors(results)
    fig = _fig(8.0, 6.5, bottom=0.09, hspace=0.15)
    ax_c, ax_r = fig.subplots(2, 1, sharex=True)
    x = np.array([p["gateway_latency_ms"] for p in points], dtype=np.float64)
    for name in results["targets"]:
        y = [_nan((p["targets"].get(name) or {}).get("max_sustainable_rps")) for p in points]
        ax_c.plot(x, y, "o-", color=colors[name], label=name)
    for k, cand in enumerate(points[0]["ratios"]):
        r = np.array([_nan(p["ratios"][cand]["ratio"]) for p in points])
        lo = np.array([_nan(p["ratios"][cand]["low"]) for p in points])
        hi = np.array([_nan(p["ratios"][cand]["high"]) for p in points])
        color = COLORS[(k + 2) % len(COLORS)]
        ax_r.plot(x, r, "o-", color=color, label=f"{cand} / {results['baseline']}")
        ax_r.fill_between(x, lo, hi, color=color, alpha=0.2, label="95% bootstrap interval")
    ax_c.set_ylabel("capacity (requests/s)")
    _plain_log_y(ax_c)
    ax_r.set_ylabel("capacity ratio (x)")
    ax_r.set_xlabel("gateway payment-call median latency (ms; p99 = 4x)")
    ax_c.set_title("Capacity at the latency objective against gateway latency")
    for ax in (ax_c, ax_r):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def fig_gateway_sweep(results: dict[str, Any]) -> Figure | None:
    """Throughput speedup of the candidate over the baseline against gateway latency."""
    gw = results.get("gateway_sweep")
    if not gw:
        return None
    pts = gw["points"]
    x = np.array([p["gateway_latency_ms"] for p in pts], dtype=np.float64)
    y = np.array([p["speedup"] if p["speedup"] is not None else np.nan for p in pts])
    lo = np.array([p["low"] if p["low"] is not None else np.nan for p in pts])
    hi = np.array([p["high"] if p["high"] is not None else np.nan for p in pts])
    fig = _fig()
    ax = fig.add_subplot()
    ax.plot(x, y, "o-", color=COLORS[0], label=f"{gw['candidate']} / {gw['baseline']}")
    ax.fill_between(x, lo, hi, color=COLORS[0], alpha=0.2, label="95% bootstrap interval")
    ax.axhline(1.0, color="grey", ls=":", lw=1, label="no speedup")
    ax.set_xlabel("added gateway latency (ms)")
    ax.set_ylabel("throughput speedup (x)")
    ax.set_title("Speedup vs gateway latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a figure (for notebooks, which display images without pyplot)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def render_figures(run: RunData, results: dict[str, Any], out_dir: Path) -> list[FigureFile]:
    """Write every applicable figure as ``out_dir/<name>.png``; return them in report order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plan: list[tuple[str, str, str, Figure | None]] = [
        ("throughput", "Throughput", "Bars: median over valid trials with its order-statistic "
         "interval; dots: individual trials (x = invalid, excluded).", fig_throughput(results)),
        ("latency_spectrum", "Latency spectrum", "Latency at each percentile from the HDR "
         "histograms of the valid trials; the right end is the tail.",
         fig_spectrum(run, results)),
        ("latency_over_time", "Latency over time", "Per-trial p50/p99 in time bins, raw "
         "samples including the shaded warm-up, which statistics exclude.",
         fig_latency_over_time(run, results)),
        ("errors", "Errors", "Share of measured requests that failed, per trial.",
         fig_errors(results)),
        ("cpu", "CPU per 1,000 requests", "CPU seconds of each process role during the "
         "measured window, per 1,000 requests.", fig_cpu(results)),
        ("capacity", "Capacity", "Every step and confirmation trial: p50 and p99 latency "
         "(top) and completed requests/s (bottom) against the offered load; x marks a step "
         "not sustained, dashed lines each target's capacity, the red line the objective.",
         fig_capacity(results)),
        ("capacity_sweep", "Capacity against gateway latency", "Each target's capacity at "
         "every gateway latency, and the ratio with its bootstrap interval: the slower the "
         "gateway, the more an event loop gains over blocked workers.",
         fig_capacity_sweep(results)),
        ("gateway_sweep", "Speedup vs gateway latency", "Throughput ratio at each added "
         "gateway latency, with its bootstrap interval.", fig_gateway_sweep(results)),
        *anatomy_figure_plan(results),
    ]
    written: list[FigureFile] = []
    for name, title, caption, fig in plan:
        if fig is None:
            # a figure from an earlier rendering that no longer applies must not linger
            (out_dir / f"{name}.png").unlink(missing_ok=True)
            continue
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=DPI)
        written.append(FigureFile(name, title, caption, path))
    return written
