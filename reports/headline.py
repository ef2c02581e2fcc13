"""Which trials a target's headline figures (its medians and intervals) are taken from.

Never from trials at different loads: a plain run uses its plain trials (one load for
all); a capacity search the trials at each target's capacity rate (at the headline
gateway setting); a stairs sweep the trials of the highest step the target sustained.
Only a sweep without either (closed-model trials at several gateway latencies) falls back
to every valid trial, and then its report shows per-step figures instead of medians.
"""

from __future__ import annotations

import math
from typing import Any

TRIALS, AT_CAPACITY, TOP_STEP, ALL_STEPS = (
    "trials", "trials at capacity", "highest sustained step", "all sweep steps")
SCOPE_NOTES = {
    AT_CAPACITY: "each target at its own capacity: its trials at the highest rate it sustained",
    TOP_STEP: "each target at the highest step it sustained",
    ALL_STEPS: "figures span all sweep steps",
}


def is_plain(trial: dict[str, Any]) -> bool:
    """A trial of a plain run: no step, no sweep point, no capacity-search phase."""
    return (trial.get("step") is None and trial.get("gateway_latency_ms") is None
            and not trial.get("profile_swept") and trial.get("phase") is None)


def _offered(trial: dict[str, Any]) -> Any:
    """The load a capacity-search or stairs trial was offered (None for other trials)."""
    if trial.get("phase") in ("search", "confirm"):
        return trial.get("offered_rps")
    if trial.get("phase") is None and trial.get("step") is not None:
        return trial.get("offered")
    return None


def at_capacity(trials: list[dict[str, Any]], target: str, caps: dict[str, Any] | None,
                point: tuple[Any, Any] | None = None) -> list[dict[str, Any]]:
    """Valid trials of ``target`` at its capacity: the rate a capacity search found (at
    the gateway setting ``point``, ``(latency, profile)``, when given) or the highest step
    of stairs it sustained."""
    rate = ((caps or {}).get(target) or {}).get("max_sustainable_offered")
    if rate is None:
        return []
    out = []
    for t in trials:
        offered = _offered(t)
        if t["target"] != target or not t["valid"] or offered is None:
            continue
        if point is not None and t.get("phase") is not None and (
                t.get("gateway_latency_ms"), t.get("gateway_profile")) != point:
            continue
        if math.isclose(float(offered), float(rate), rel_tol=1e-9):
            out.append(t)
    return out


def headline_trials(trials: list[dict[str, Any]], target: str,
                    caps: dict[str, Any] | None = None,
                    point: tuple[Any, Any] | None = None) -> list[dict[str, Any]]:
    """Valid trials of ``target`` that the headline figures use (see the module's rules)."""
    found = at_capacity(trials, target, caps, point)
    if found:
        return found
    own = [t for t in trials if t["target"] == target and t["valid"]]
    plain = [t for t in own if is_plain(t)]
    if plain:
        return plain
    # stairs whose target sustained no step: no trial is the headline
    return [] if any(t.get("step") is not None for t in own) else own


def scope(used: list[dict[str, Any]]) -> str:
    """What the headline trials are (one of the scopes above)."""
    if not used:
        return TRIALS
    first = used[0]
    if first.get("phase"):
        return AT_CAPACITY
    if first.get("step") is not None:
        return TOP_STEP
    return TRIALS if is_plain(first) else ALL_STEPS
