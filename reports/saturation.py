"""Was a target saturated in a closed-model run? A closed model with N users measures
throughput *at N users*: a target that still had room gives a ratio that says more about N
than about the target, and the verdict must say so.

A target counts as saturated in a trial when any of these held during the window:

* it serves a fixed number of requests at a time (sync workers) and the users were at
  least that many, so every worker was busy all the time;
* its own processes used at least 80% of the cores they can use (its workers, at most
  the machine's cores);
* the whole machine's CPU was at least 90% busy (the generator, databases and services
  share it, so no target could have gone faster).

Otherwise it was not, and the figures say how far from it: its CPU and the users against
its workers. Pure: works on the per-trial figures and the run's target settings.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

TARGET_CPU_SHARE = 0.8
MACHINE_CPU_SHARE = 0.9


def target_saturation(figs: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
                      *, role: str, cores: int | None) -> dict[str, Any] | None:
    """Saturation of one target over its closed-model trials (None without any)."""
    closed = [f for f in figs if f.get("model") == "closed" and f.get("valid")
              and f.get("window_s")]
    if not closed:
        return None
    users = int(statistics.median(int(f.get("users") or 0) for f in closed))
    own_cpu = statistics.median(float((f.get("cpu_s_by_role") or {}).get(role, 0.0))
                                / float(f["window_s"]) for f in closed)
    machine_cpu = statistics.median(sum((f.get("cpu_s_by_role") or {}).values())
                                    / float(f["window_s"]) for f in closed)
    workers = settings.get("workers")
    per_worker = settings.get("requests_per_worker")
    usable = min(x for x in (workers, cores) if isinstance(x, int) and x > 0) \
        if any(isinstance(x, int) and x > 0 for x in (workers, cores)) else None
    reasons: list[str] = []
    if isinstance(per_worker, int) and isinstance(workers, int) and users >= per_worker * workers:
        reasons.append(f"every worker busy: {users} users for {workers} workers serving "
                       f"{per_worker} request{'s' if per_worker > 1 else ''} at a time each")
    if usable is not None and own_cpu >= TARGET_CPU_SHARE * usable:
        reasons.append(f"its processes used {own_cpu:.2f} of the {usable} cores they can use")
    if cores and machine_cpu >= MACHINE_CPU_SHARE * cores:
        reasons.append(f"the machine's CPU was {machine_cpu / cores:.0%} busy")
    detail = (f"its processes used {own_cpu:.2f} cores"
              + (f" of {usable}" if usable is not None else "")
              + (f", the machine {machine_cpu / cores:.0%}" if cores else "")
              + f", {users} users" + (f" for {workers} workers" if workers else ""))
    return {"saturated": bool(reasons), "reasons": reasons, "detail": detail,
            "users": users, "target_cpu_cores": own_cpu, "machine_cpu_cores": machine_cpu,
            "usable_cores": usable}
