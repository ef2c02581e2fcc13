"""The one-sentence verdict at the top of a report, with its interval.

Rules: the closed model answers "how much more throughput", the open model (fixed
offered rate, where both targets see the same throughput) answers "how much lower p99";
a pure load sweep answers with max sustainable throughput at the SLO. A difference is
called significant only when a Mann-Whitney U test at alpha 0.05 says so, and never
with fewer trials than that test needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reports.gates import breach_text
from reports.stats import ALPHA
from rundir.config import LoadDoc, SearchDoc, SweepDoc


def fmt_ratio(value: float) -> str:
    """14.2 or 1.07: one decimal from 10x up, two below."""
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _ci(low: float | None, high: float | None, confidence: float) -> str:
    if low is None or high is None:
        return "(no interval: fewer than 2 valid trials per target)"
    return f"({confidence:.0%} CI {fmt_ratio(low)}-{fmt_ratio(high)}x)"


def _significance(m: dict[str, Any]) -> tuple[str, bool]:
    na, nb, p = m["n_candidate"], m["n_baseline"], m["p_value"]
    counts = f"{na} vs {nb} valid trials"
    if m["significance"] == "too few trials":
        return (f", but the difference is not significant: {counts} are too few for a "
                f"Mann-Whitney test at alpha {ALPHA:g}"), False
    if not m["significant"]:
        return f", but the difference is not significant (Mann-Whitney p={p:.2f}, {counts})", False
    shown = "p<0.001" if p < 0.001 else f"p={p:.3f}"
    return f" (Mann-Whitney {shown}, {counts})", True


def _capacity_verdict(results: dict[str, Any], base: str, cand: str) -> dict[str, Any] | None:
    caps = results.get("capacity") or {}
    if base not in caps or cand not in caps:
        return None
    a, b = caps[cand]["max_sustainable_rps"], caps[base]["max_sustainable_rps"]
    p99 = results["slo"]["p99_ms"]
    if a is None or b is None or b == 0:
        missing = base if b is None or b == 0 else cand
        text = f"No capacity verdict: {missing} never met the SLO (p99 <= {p99:g} ms) in the sweep."
        return {"text": text, "metric": "max_sustainable_rps", "ratio": None, "low": None,
                "high": None, "p_value": None, "significant": False,
                "significance": "no data"}
    ratio = a / b
    text = (f"{named(results, cand)} sustains {fmt_ratio(ratio)}x "
            f"{_of(results, base, 'throughput')} at p99 <= {p99:g} ms ({a:.1f} vs {b:.1f} "
            "req/s, max sustainable in one sweep: the highest step each sustained; no interval).")
    return {"text": text, "metric": "max_sustainable_rps", "ratio": ratio, "low": None,
            "high": None, "p_value": None, "significant": False, "significance": "single sweep"}


def _sweep_verdict(results: dict[str, Any], base: str, cand: str) -> dict[str, Any] | None:
    """Speedup at the lowest and highest gateway latency of a gateway sweep."""
    sweep = results.get("gateway_sweep")
    if not sweep:
        return None
    pts = [p for p in sweep["points"] if p["speedup"] is not None]
    if not pts:
        return None
    first, last = pts[0], pts[-1]

    def ratio(p: dict[str, Any]) -> str:
        return f"{fmt_ratio(p['speedup'])}x {_ci(p['low'], p['high'], 0.95)}"

    sig = "significant" if last["significant"] else "not significant"
    text = (f"{cand}'s throughput is {ratio(first)} {base}'s at "
            f"{first['gateway_latency_ms']:g} ms added gateway latency and {ratio(last)} at "
            f"{last['gateway_latency_ms']:g} ms ({sig} at {last['gateway_latency_ms']:g} ms: "
            f"Mann-Whitney U, alpha {ALPHA:g}).")
    return {"text": text, "metric": "gateway_speedup", "ratio": last["speedup"],
            "low": last["low"], "high": last["high"], "p_value": last["p_value"],
            "significant": bool(last["significant"]), "significance": sig}


def _per_profile(results: dict[str, Any]) -> str:
    """' Per gateway profile: 1.97x on instant, 0.98x on fast.' for a profile sweep."""
    sweep = results.get("profile_sweep")
    if not sweep:
        return ""
    parts = [f"{fmt_ratio(p['speedup'])}x on {p['gateway_profile']}"
             for p in sweep["points"] if p["speedup"] is not None]  # fmt: skip
    if not parts:
        return ""
    own = (results.get("fairness") or {}).get("gateway_profile")
    where = f"; the figures above are on {own}, the run's own profile" if own else ""
    return (f" Per gateway profile ({sweep['candidate']} over {sweep['baseline']}{where}): "
            + ", ".join(parts) + ".")


def _saturation_note(results: dict[str, Any], base: str, cand: str, ratio: float) -> str:
    """Which targets the closed model saturated; a lower bound when the faster one was not."""
    sat = results.get("saturation") or {}
    if cand not in sat or base not in sat:
        return ""
    parts = []
    for name in (base, cand):
        info = sat[name]
        state = ("saturated (" + "; ".join(info["reasons"]) + ")" if info["saturated"]
                 else f"not saturated ({info['detail']})")
        parts.append(f"{name} was {state}")
    text = " " + "; ".join(parts) + "."
    faster = cand if ratio >= 1 else base
    if not sat[faster]["saturated"]:
        text += (f" {faster} had room left, so the ratio is a lower bound at this user count, "
                 "not a capacity claim: `paybench run` without --users searches each "
                 "target's capacity.")
    return text


def named(results: dict[str, Any], name: str) -> str:
    """'engine (breaks p99 <= 500 ms at 812 ms)' when the target's headline figures break the
    objective the report's header shows, else the name."""
    info = (results.get("targets") or {}).get(name) or {}
    text = breach_text(info.get("slo_breaches") or [])
    return f"{name} ({text})" if text else name


def _of(results: dict[str, Any], name: str, what: str) -> str:
    """"legacy's throughput", or "the throughput of legacy (breaks ...)" when marked."""
    shown = named(results, name)
    return f"{name}'s {what}" if shown == name else f"the {what} of {shown}"


def _rps(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def gateway_phrase(results: dict[str, Any], latency_ms: float | None = None,
                   profile: str | None = None) -> str:
    """'the `fast` gateway (auth p50 50 ms)' from the run's recorded gateway profile."""
    fair = results.get("fairness") or {}
    name = profile or fair.get("gateway_profile") or "?"
    auth = ((fair.get("gateway") or {}).get("latency") or {}).get("auth") or {}
    p50 = latency_ms if latency_ms is not None else auth.get("p50_ms")
    detail = f" (auth p50 {p50:g} ms)" if isinstance(p50, int | float) else ""
    if latency_ms is not None:
        detail = f" set to auth p50 {latency_ms:g} ms, p99 {4 * latency_ms:g} ms"
    return f"the `{name}` gateway{detail}"


def _interval_text(ratio: dict[str, Any]) -> str:
    if ratio["low"] is None:
        return ("(no interval: fewer than 2 trials held each target's capacity; "
                "confirm with more trials for one)")
    return _ci(ratio["low"], ratio["high"], ratio["confidence"])


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def capacity_sentence(point: dict[str, Any], base: str, cand: str | list[str],
                      gateway: str, mark: Callable[[str], str] = str
                      ) -> tuple[str, dict[str, Any]]:
    """The capacity verdict of one gateway setting, and the numbers it quotes (those of the
    first candidate against the baseline); ``mark`` names a target (with what of the
    objective it breaks)."""
    cands = [cand] if isinstance(cand, str) else list(cand)
    caps = point["targets"]
    obj = point["objective"]
    head = f"With {gateway}, at p99 <= {obj['p99_ms']:g} ms"
    missing = [n for n in (*cands, base) if caps[n].get("max_sustainable_rps") is None]
    if missing:
        text = (f"{head}: no capacity ratio, because {_join(missing)} did not sustain even "
                "the lowest rate tried.")
        return text, {"metric": "capacity", "ratio": None}
    rates = [f"{mark(n)} {'sustains ' if i == 0 else ''}"
             f"{_rps(caps[n]['max_sustainable_rps'])} req/s"
             for i, n in enumerate((*cands, base))]
    ratios = [point["ratios"][c] for c in cands]
    if len(cands) == 1:
        text = (f"{head}, {_join(rates)}: {fmt_ratio(ratios[0]['ratio'])}x "
                f"{_interval_text(ratios[0])}.")
    else:
        parts = [f"{c} {fmt_ratio(r['ratio'])}x {_interval_text(r)}"
                 for c, r in zip(cands, ratios, strict=True)]
        text = f"{head}, {_join(rates)}: {_join(parts)} {base}'s capacity."
        for pair, r in (point.get("between") or {}).items():
            a, b = pair.split("/", 1)
            text += f" {a} over {b}: {fmt_ratio(r['ratio'])}x {_interval_text(r)}."
    for name in (*cands, base):
        limited = caps[name].get("limited_by")
        if limited == "generator":
            text += (f" {name}'s figure is a lower bound: the load generator could not "
                     "offer more.")
        elif limited == "search range":
            text += f" {name}'s figure is a lower bound: it held the highest rate tried."
    text += _common_rate_text(point, base, cands)
    first = ratios[0]
    return text, {"metric": "capacity", "ratio": first["ratio"], "low": first["low"],
                  "high": first["high"], "significance": "bootstrap interval"}


def _common_rate_text(point: dict[str, Any], base: str, cands: list[str]) -> str:
    """' At 9.5 iterations/s (28 req/s), which all sustain: p99 engine 246 ms vs legacy 253 ms.'"""
    common = point.get("common_rate") or {}
    lat = {}
    offered = completed = None
    for c in cands:
        info = common.get(c) or {}
        if info.get(c) and info.get(base) and info[c].get("p99_ms") is not None \
                and info[base].get("p99_ms") is not None:
            lat[c] = info[c]["p99_ms"]
            lat[base] = info[base]["p99_ms"]
            offered, completed = info["offered"], info[base].get("completed_rps")
    if base not in lat or offered is None:
        return ""
    both = "both sustain" if len(lat) == 2 else "all sustain"
    shown = ", ".join(f"{c} {lat[c]:.0f} ms" for c in cands if c in lat)
    return (f" At {offered:.3g} iterations/s ({_rps(completed)} req/s), which {both}: "
            f"p99 {shown} vs {base} {lat[base]:.0f} ms.")


def _capacity_search_verdict(results: dict[str, Any], base: str,
                             cand: str) -> dict[str, Any] | None:
    search = results.get("capacity_search")
    if not search:
        return None
    points = search.get("points") or [search]
    texts: list[str] = []
    numbers: dict[str, Any] = {}
    for n, point in enumerate(points):
        gateway = gateway_phrase(results, point.get("gateway_latency_ms"),
                                 point.get("gateway_profile"))
        others = [cand] + [t for t in point["targets"] if t not in (cand, base)]
        # marks only on the headline point, whose figures the summary table shows
        mark = (lambda name: named(results, name)) if n == 0 else str
        text, nums = capacity_sentence(point, base, others, gateway, mark)
        texts.append(text)
        if n == 0:
            numbers = nums
    return {"text": " ".join(texts), **numbers}


def verdict(results: dict[str, Any], load: LoadDoc | None) -> dict[str, Any]:
    """The verdict dict stored in results.json: text plus the numbers it quotes (``load``:
    the run's load settings, from config.json)."""
    load = load or LoadDoc()
    base, cand = results.get("baseline"), results.get("candidate")
    targets: dict[str, Any] = results.get("targets", {})
    # every key is always present so templates and readers need no special cases
    out: dict[str, Any] = {"baseline": base, "candidate": cand, "metric": None, "ratio": None,
                           "low": None, "high": None, "p_value": None, "significant": False,
                           "significance": None}
    if base is not None and cand is not None:
        searched = _capacity_search_verdict(results, base, cand)
        if searched is not None:
            return out | searched
    if base is None or cand is None:
        if not targets:
            return out | {"text": "No verdict: the run has no trials.", "metric": None}
        name, info = next(iter(targets.items()))
        thr = info["summary"]["throughput_rps"]["median"]
        p99 = info["summary"]["p99_ms"]["median"]
        if thr is None:
            return out | {"text": f"No verdict: {name} has no valid trials.", "metric": None}
        text = (f"{named(results, name)} sustains {thr:.1f} req/s at p99 {p99:.1f} ms (median of "
                f"{info['valid_trials']} valid trials); there is no second target to compare.")
        return out | {"text": text, "metric": "throughput_rps"}

    for name in (cand, base):
        if targets.get(name, {}).get("valid_trials", 0) == 0:
            return out | {"text": f"No verdict: {name} has no valid trials.", "metric": None}
    comparison = next((c for c in results["comparisons"] if c["candidate"] == cand), None)
    if comparison is None:
        swept = _capacity_verdict(results, base, cand) or _sweep_verdict(results, base, cand)
        if swept is not None:
            return out | swept
        return out | {"text": f"No verdict: no trials of {base} and {cand} are comparable."}

    metric = "p99_ms" if load.model == "open" else "throughput_rps"
    m = comparison["metrics"][metric]
    ratio, low, high = m["ratio"], m["low"], m["high"]
    if ratio is None or not math.isfinite(ratio):
        return out | {"text": f"No verdict: {metric} is missing for {base} or {cand}.",
                      "metric": metric}
    tail, significant = _significance(m)
    if metric == "throughput_rps":
        at = f" with {load.users} closed-model users" if load.users else ""
        head = f"{named(results, cand)} sustains {fmt_ratio(ratio)}x " \
               f"{_ci(low, high, m['confidence'])} {_of(results, base, 'throughput')}{at}"
    elif ratio >= 1:
        head = (f"{_of(results, cand, 'p99 latency')} is {fmt_ratio(ratio)}x lower "
                f"{_ci(low, high, m['confidence'])} than {_of(results, base, 'p99 latency')} "
                "at the same offered load")
    else:  # invert so the sentence reads naturally; the interval flips with it
        inv_low = 1 / high if high else None
        inv_high = 1 / low if low else None
        head = (f"{_of(results, cand, 'p99 latency')} is {fmt_ratio(1 / ratio)}x higher "
                f"{_ci(inv_low, inv_high, m['confidence'])} than "
                f"{_of(results, base, 'p99 latency')} at the same offered load")
    return out | {
        "text": head + tail + "."
        + _saturation_note(results, base, cand, ratio) + _per_profile(results),
        "metric": metric,
        "ratio": ratio,
        "low": low,
        "high": high,
        "p_value": m["p_value"],
        "significant": significant,
        "significance": m["significance"],
    }


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _capacity_method(results: dict[str, Any], load: LoadDoc) -> str:
    search = load.search or SearchDoc()
    objective = (results.get("capacity_search") or {}).get("objective") or {}
    parts = [
        "Capacity search, open model: each target is offered scenario iterations at fixed "
        "intended times (latency measured from the intended start, so queueing counts), "
        f"from {_or(search.start, '?'):g} iterations/s up a geometric ramp until a step is "
        "not sustained, then by bisection to within "
        f"{_or(search.resolution, 0.1):.0%}; a target is never stepped above a rate it "
        "failed, and a step stops as soon as its failure is certain.",
        f"A step lasts {_or(search.warmup_s, '?'):g} s warm-up + "
        f"{_or(search.duration_s, '?'):g} s; requests still running at the window's end "
        f"are awaited (drain) and count in latency; throughput counts completions inside "
        "the window only.",
        f"Each target's capacity is then confirmed by {_or(search.confirm_trials, '?')} "
        f"interleaved trial(s) of {_or(load.warmup_s, '?'):g} s + "
        f"{_or(load.duration_s, '?'):g} s at the highest rate it sustained; the capacity is "
        "the median of their completed requests/s with an order-statistic interval, the "
        "ratio a percentile bootstrap interval over those trials.",
    ]
    if objective.get("explanation"):
        parts.append(f"Objective: {objective['explanation']}.")
    return " ".join(parts)


def _stairs_method(results: dict[str, Any], load: LoadDoc, sweep: SweepDoc) -> str:
    """The method of a stairs sweep: which stairs, how long each step, what each shows."""
    steps = ", ".join(f"{v:g}" for v in sweep.steps or ())
    slo = results.get("slo") or {}
    objective = (f"p99 <= {slo['p99_ms']:g} ms, errors <= {slo['error_ratio']:.2%}"
                 .replace(".00%", "%") if slo else "the objective")
    trials = load.trials or 1
    timing = (f"{load.warmup_s:g} s warm-up + {load.duration_s:g} s"
              if load.warmup_s is not None and load.duration_s is not None
              else "one step's length")
    if sweep.by == "users":
        head = (f"Closed-model stairs of {steps} users: a slow server receives less load and "
                "requests never sent have no latency (coordinated omission), so tails are "
                "optimistic.")
    else:
        head = (f"Open-model stairs of {steps} iterations/s: latency is measured from each "
                "iteration's intended start, so queueing counts; a step is sustained by the "
                "capacity search's rule.")
    return (f"{head} At each step every target runs {trials} interleaved trial(s) of "
            f"{timing}; a target that breaks the objective ({objective}) is not stepped "
            "higher. Figures are per step (the Capacity section lists every step); none is "
            "a median across steps.")


def method_note(results: dict[str, Any], load: LoadDoc | None) -> str:
    """How the numbers were taken, in two sentences a reviewer can check against the config
    (``load``: the run's load settings, from config.json)."""
    load = load or LoadDoc()
    model = load.model
    trials = load.trials
    if load.sweep is not None and not results.get("capacity_search"):
        return _stairs_method(results, load, load.sweep)
    if model == "capacity" or results.get("capacity_search"):
        return _capacity_method(results, load)
    parts: list[str] = []
    if model == "open":
        rate = load.rate
        parts.append("Open model" + (f" at {rate:g} requests/s" if rate is not None
                                     else "") + ": latency is measured from each request's "
                     "intended start, so queueing in front of a slow server counts "
                     "(no coordinated omission); late and dropped starts are reported.")
    elif model == "closed":
        users = load.users
        parts.append("Closed model" + (f" with {users} users" if users else "")
                     + ": a slow server receives less load and requests never sent have no "
                     "latency (coordinated omission), so tails are optimistic; use the open "
                     "model for latency at a fixed rate.")
    if load.sweep is not None:
        parts.append("Offered load is stepped to find each target's knee.")
    timing = []
    if trials:
        steps = [what for what, present in (
            ("step", load.sweep is not None),
            ("gateway latency", bool(results.get("gateway_sweep"))),
            ("gateway profile", bool(results.get("profile_sweep"))),
        ) if present]  # fmt: skip
        per = "per target" + "".join(f" and {what}" for what in steps)
        timing.append(f"{trials} trial(s) {per}, interleaved")
    if load.warmup_s is not None:
        timing.append(f"{load.warmup_s:g} s warm-up excluded")
    if load.duration_s is not None:
        timing.append(f"{load.duration_s:g} s measured per trial")
    if timing:
        sentence = "; ".join(timing)
        parts.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(parts)
