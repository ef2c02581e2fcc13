"""Latency anatomy: where a request's time goes, from the services' Server-Timing header.

Each service answers with the time its handler spent in PostgreSQL (``db``), Redis
(``cache``) and gateway calls (``gateway``), the rest of the handler (``app``: the
service's own code) and the handler in total. The recorder keeps these beside the
client's latency; what the server never saw is the *queue*: client latency minus server
total. It is the wait for a free worker (a sync service's requests wait in the listen
backlog while every worker is busy), the network both ways, the HTTP handling outside the
handler, and, in the open model, the generator's lateness (latency runs from a request's
intended start).

A percentile has no composition of its own: the *median request* is the requests whose
client latency ranks from the 45th to the 55th percentile, the *p99 request* those from
the 98.5th to the 99.5th (at least the one nearest the percentile). Each part is their
mean, so the parts add up to their mean latency, which is close to the percentile.

Pure: sample frames and result figures in, JSON-ready dicts and sentences out.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reports import stats

PARTS: tuple[str, ...] = ("queue", "app", "db", "cache", "gateway")
# sample columns the server parts are read from (the queue is computed)
PART_COLUMNS: dict[str, str] = {"app": "app_ms", "db": "db_ms", "cache": "cache_ms",
                                "gateway": "gateway_ms"}
COUNT_COLUMNS: dict[str, str] = {"db": "db_count", "cache": "cache_count",
                                 "gateway": "gateway_count"}
TOTAL_COLUMN = "server_total_ms"
TIMING_COLUMNS: tuple[str, ...] = (TOTAL_COLUMN, *PART_COLUMNS.values(),
                                   *COUNT_COLUMNS.values())
# (percentile, half-width of the band of ranks around it, in percentile points)
BANDS: dict[str, tuple[float, float]] = {"median": (50.0, 5.0), "p99": (99.0, 0.5)}
LABELS: dict[str, str] = {"queue": "queue + network", "app": "app (service code)",
                          "db": "PostgreSQL", "cache": "Redis", "gateway": "gateway"}
PHRASES: dict[str, str] = {
    "queue": "waiting outside the handler (queue + network)",
    "app": "the service's own code (app)",
    "db": "PostgreSQL",
    "cache": "Redis",
    "gateway": "the gateway",
}
ALL = "all requests"
METHOD_NOTE = (
    "Where the time goes comes from each response's Server-Timing header; queue + network "
    "is the client's latency minus the handler's total, so it includes the network and, "
    "in the open model, the load generator's lateness as well as the wait for a worker."
)
METHOD = (
    "Latency anatomy: each service reports per response, in a Server-Timing header, the "
    "time its handler spent in PostgreSQL, Redis and gateway calls and in its own code "
    "(app), a database part including any wait for a pool connection; queue + network is "
    "the client's latency minus the handler's total: waiting "
    "for a free worker, the network both ways, HTTP handling outside the handler and, in "
    "the open model, the load generator's lateness. An async service's parts are wall "
    "times of its awaits, so its waits for the event loop fall inside them, not in the "
    "queue. The median request is the mean of "
    "the requests ranked from the 45th to the 55th percentile of latency, the p99 "
    "request of those from the 98.5th to the 99.5th, so its parts add up to its latency."
)


def has_timing(samples: pd.DataFrame) -> bool:
    """Whether a samples frame has server-timing columns (runs recorded before them have
    not)."""
    return TOTAL_COLUMN in samples.columns


def timed(samples: pd.DataFrame) -> pd.DataFrame:
    """The measured, successful requests that carry server timing, with the parts in ms
    (``queue`` included) beside ``name`` and ``latency_ms``."""
    columns = ["name", "latency_ms", *PARTS, *(f"{p}_count" for p in COUNT_COLUMNS)]
    if not has_timing(samples) or samples.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    keep = ((samples["warmup"] == 0) & (samples["ok"] == 1)
            & samples[TOTAL_COLUMN].notna()).to_numpy()
    rows = samples.loc[keep]
    latency = rows["latency_ms"].to_numpy(dtype=np.float64)
    out = pd.DataFrame({"name": rows["name"].astype(str).to_numpy(), "latency_ms": latency,
                        "queue": latency - rows[TOTAL_COLUMN].to_numpy(dtype=np.float64)})
    for part, column in PART_COLUMNS.items():
        out[part] = (rows[column].to_numpy(dtype=np.float64) if column in rows.columns
                     else np.full(len(rows), np.nan))
    for part, column in COUNT_COLUMNS.items():
        out[f"{part}_count"] = (rows[column].to_numpy(dtype=np.float64)
                                if column in rows.columns else np.full(len(rows), np.nan))
    return out


def band(latency: np.ndarray[Any, Any], percentile: float,
         half_width: float) -> np.ndarray[Any, Any]:
    """Positions (into ``latency``) of the requests whose latency ranks within
    ``half_width`` percentile points of ``percentile``; at least the nearest one."""
    n = latency.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(latency, kind="stable")
    # the tolerance keeps 55% of 100 from becoming 56 through rounding
    lo = max(math.floor((percentile - half_width) / 100.0 * n + 1e-9), 0)
    hi = min(math.ceil((percentile + half_width) / 100.0 * n - 1e-9), n)
    if hi <= lo:
        nearest = min(max(round(percentile / 100.0 * (n - 1)), 0), n - 1)
        lo, hi = nearest, nearest + 1
    result: np.ndarray[Any, Any] = order[lo:hi]
    return result


def _clean(value: float) -> float | None:
    return value if math.isfinite(value) else None


def composition(frame: pd.DataFrame, which: str = "median") -> dict[str, Any] | None:
    """The composition of the ``which`` request (``median`` or ``p99``) of ``frame``
    (rows of :func:`timed`); None without rows."""
    if frame.empty:
        return None
    percentile, half = BANDS[which]
    latency = frame["latency_ms"].to_numpy(dtype=np.float64)
    rows = frame.iloc[band(latency, percentile, half)]
    mean_latency = float(rows["latency_ms"].mean())
    parts = {p: float(rows[p].mean()) for p in PARTS}
    counts = {p: _clean(float(rows[f"{p}_count"].mean())) for p in COUNT_COLUMNS}
    return {
        "percentile": percentile,
        "requests": len(rows),
        "latency_ms": _clean(mean_latency),
        "parts_ms": {p: _clean(v) for p, v in parts.items()},
        "shares": {p: _clean(v / mean_latency) if mean_latency > 0 else None
                   for p, v in parts.items()},
        "counts": counts if any(v is not None for v in counts.values()) else None,
    }


def describe(frame: pd.DataFrame) -> dict[str, Any]:
    """Median and p99 request of ``frame`` (rows of :func:`timed`)."""
    return {"timed_requests": len(frame), "median": composition(frame, "median"),
            "p99": composition(frame, "p99")}


def dominant(comp: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The part with the largest share of a composition, and that share."""
    if not comp:
        return None
    shares = {p: s for p, s in (comp.get("shares") or {}).items() if s is not None}
    if not shares:
        return None
    part = max(shares, key=lambda p: shares[p])
    return {"part": part, "share": shares[part], "label": LABELS[part]}


def target_composition(samples: Iterable[pd.DataFrame]) -> dict[str, Any]:
    """One target's composition over the samples of its headline trials: every request
    together and each endpoint, the median and the p99 request of each."""
    frames = list(samples)
    measured = sum(int(((f["warmup"] == 0) & (f["ok"] == 1)).sum()) for f in frames)
    parts = [timed(f) for f in frames]
    pooled = pd.concat(parts, ignore_index=True) if parts else timed(pd.DataFrame())
    endpoints = {str(name): describe(group)
                 for name, group in pooled.groupby("name", sort=True)} if len(pooled) else {}
    everything = describe(pooled)
    return {"ok_requests": measured, "timed_requests": len(pooled), "all": everything,
            "endpoints": endpoints, "dominant": dominant(everything["median"])}


def trial_composition(samples: pd.DataFrame) -> dict[str, Any] | None:
    """The median and p99 request of one trial (None when it has no server timing)."""
    frame = timed(samples)
    return describe(frame) if len(frame) else None


def _sustained(rows: Sequence[Mapping[str, Any]]) -> bool | None:
    votes = [r.get("sustained") for r in rows]
    if all(v is None for v in votes):
        return None
    return sum(1 for v in votes if v is True) * 2 > len(votes)


def step_compositions(steps: Sequence[Mapping[str, Any]],
                      samples: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """The composition at each offered load of a capacity search or stairs sweep.

    ``steps`` are one target's step rows (``trial``, ``offered``, ``sustained``; a row may
    name several trials, comma-separated); ``samples`` each trial's samples by name. The
    trials at one offered load are pooled.
    """
    by_offered: dict[float, list[Mapping[str, Any]]] = {}
    for row in steps:
        if row.get("offered") is not None:
            by_offered.setdefault(float(row["offered"]), []).append(row)
    out: list[dict[str, Any]] = []
    for offered, rows in sorted(by_offered.items()):
        names = [n for r in rows for n in str(r["trial"]).split(",") if n in samples]
        frames = [timed(samples[n]) for n in names]
        pooled = pd.concat(frames, ignore_index=True) if frames else timed(pd.DataFrame())
        out.append({"offered": offered, "trials": names, "sustained": _sustained(rows),
                    **describe(pooled)})
    return out


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


LOOP_NOTES: dict[str, str] = {
    "db": " (wall time of its awaits, waits for a pool connection and for its event loop "
          "included)",
    "cache": " (wall time of its awaits, waits for its event loop included)",
    "gateway": " (wall time of its awaits, waits for its event loop included)",
}


def sentence(targets: Mapping[str, Mapping[str, Any]],
             event_loop: Collection[str] = ()) -> str:
    """One sentence naming, per target, the part that dominates its median request.

    A target in ``event_loop`` serves many requests per worker on an event loop: its
    PostgreSQL, Redis and gateway parts are wall times of awaits, which include waiting for
    the loop to run the request again; on a busy worker that wait can be most of the part,
    so the sentence says so rather than blame the server awaited.
    """
    clauses: list[str] = []
    for name, info in targets.items():
        median = (info.get("all") or {}).get("median")
        top = dominant(median)
        if median is None or top is None:
            clauses.append(f"{name}: no server timing (its responses carry no Server-Timing "
                           "header)")
            continue
        latency = _ms(median.get("latency_ms"))
        what = PHRASES[top["part"]]
        note = LOOP_NOTES.get(top["part"], "") if name in event_loop else ""
        clauses.append(f"{name}: {top['share']:.0%} of the median request ({latency} ms) "
                       f"is {what}{note}")
    return ("; ".join(clauses) + ".") if clauses else ""


def section(targets: Mapping[str, Iterable[pd.DataFrame]], *,
            trials: Mapping[str, pd.DataFrame],
            steps: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
            event_loop: Collection[str] = ()) -> dict[str, Any]:
    """The ``composition`` section of results.json.

    ``targets`` are each target's headline samples; ``trials`` every trial's samples by
    name (for the per-trial compositions that ``paybench compare`` tests); ``steps`` each
    target's capacity or stairs step rows, for the composition at each step; ``event_loop``
    the targets whose workers serve many requests at once on an event loop (see
    :func:`sentence`).
    """
    per_target = {name: target_composition(frames) for name, frames in targets.items()}
    for name, rows in (steps or {}).items():
        if name in per_target:
            per_target[name]["steps"] = step_compositions(rows, trials)
    per_trial = {name: trial_composition(frame) for name, frame in trials.items()}
    available = any(info["timed_requests"] for info in per_target.values())
    return {
        "parts": list(PARTS),
        "labels": dict(LABELS),
        "available": available,
        "method": METHOD,
        "sentence": sentence(per_target, event_loop) if available else "",
        "targets": per_target,
        "trials": {name: comp for name, comp in per_trial.items() if comp is not None},
    }


def _trial_parts(results: Mapping[str, Any], target: str, which: str,
                 part: str) -> list[float]:
    """The ``part`` of the ``which`` request of each headline trial of ``target``."""
    info = (results.get("targets") or {}).get(target) or {}
    per_trial = (results.get("composition") or {}).get("trials") or {}
    values: list[float] = []
    for name in info.get("summary_trials") or []:
        comp = (per_trial.get(name) or {}).get(which) or {}
        value = (comp.get("parts_ms") or {}).get(part)
        if isinstance(value, int | float):
            values.append(float(value))
    return values


def compare(res_a: Mapping[str, Any], res_b: Mapping[str, Any]) -> dict[str, Any]:
    """How the composition changed from run A to run B: per target present in both with
    server timing, for the median and the p99 request, each part's milliseconds in A and
    B, the relative change with its interval, the share's change in points, and a
    Mann-Whitney test over the headline trials' own compositions."""
    targets_a = (res_a.get("composition") or {}).get("targets") or {}
    targets_b = (res_b.get("composition") or {}).get("targets") or {}
    out: dict[str, Any] = {}
    for target, info_a in targets_a.items():
        info_b = targets_b.get(target)
        if not info_b:
            continue
        per_request: dict[str, Any] = {}
        for which in BANDS:
            comp_a, comp_b = info_a["all"][which], info_b["all"][which]
            if comp_a is None or comp_b is None:
                continue
            parts: dict[str, Any] = {}
            for part in (*PARTS, "latency"):
                if part == "latency":
                    a, b = comp_a["latency_ms"], comp_b["latency_ms"]
                    share_a = share_b = None
                else:
                    a, b = comp_a["parts_ms"][part], comp_b["parts_ms"][part]
                    share_a, share_b = comp_a["shares"][part], comp_b["shares"][part]
                va = _trial_parts(res_a, target, which, part) if part != "latency" else []
                vb = _trial_parts(res_b, target, which, part) if part != "latency" else []
                sig = stats.mann_whitney(vb, va)
                entry: dict[str, Any] = {
                    "a_ms": a, "b_ms": b,
                    "change": (b / a - 1.0) if a and b is not None and a > 0 else None,
                    "share_a": share_a, "share_b": share_b,
                    "share_change": (share_b - share_a
                                     if share_a is not None and share_b is not None else None),
                    "p_value": _clean(sig.p_value), "significant": sig.significant,
                    "significance": sig.reason, "n_a": len(va), "n_b": len(vb),
                }
                parts[part] = entry
            per_request[which] = {"parts": parts,
                                  "dominant_a": dominant(comp_a), "dominant_b": dominant(comp_b)}
        if per_request:
            out[target] = per_request
    return out


def format_changes(changes: Mapping[str, Any]) -> list[str]:
    """Plain-text lines of :func:`compare`'s output for ``paybench compare``."""
    if not changes:
        return []
    rows: list[tuple[str, ...]] = [("target", "request", "part", "A ms", "B ms", "change",
                                    "share A -> B", "")]
    for target, per_request in changes.items():
        for which, info in per_request.items():
            for part, e in info["parts"].items():
                change = "-" if e["change"] is None else f"{e['change']:+.1%}"
                share = ("" if e["share_a"] is None or e["share_b"] is None
                         else f"{e['share_a']:.0%} -> {e['share_b']:.0%}")
                if part == "latency":
                    mark = ""
                elif e["significant"]:
                    mark = "p<0.001" if e["p_value"] < 0.001 else f"p={e['p_value']:.3f}"
                else:
                    mark = f"~ ({e['significance']})"
                rows.append((target, which, LABELS.get(part, "latency (sum)"),
                             _ms(e["a_ms"]), _ms(e["b_ms"]), change, share, mark))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(0, "where the time goes (median and p99 request, from Server-Timing):")
    return lines


def table_rows(section_: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's table: per target, every request together then each endpoint, the
    median and the p99 request, each part as milliseconds and share."""
    rows: list[dict[str, Any]] = []
    for target, info in (section_.get("targets") or {}).items():
        groups = [(ALL, info["all"]), *info["endpoints"].items()]
        for endpoint, described in groups:
            for which in BANDS:
                comp = described[which]
                if comp is None:
                    continue
                rows.append({
                    "target": target, "endpoint": endpoint, "request": which,
                    "requests": described["timed_requests"],
                    "latency_ms": comp["latency_ms"],
                    "parts": [{"part": p, "ms": comp["parts_ms"][p],
                               "share": comp["shares"][p]} for p in PARTS],
                })
    return rows
