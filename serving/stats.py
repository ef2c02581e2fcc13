"""Request statistics served at ``GET /_stats`` by both services, in Vyked's ``Aggregator`` shape.

Vyked kept a tree of ``StatUnit`` nodes: the total, then per server type
(``http``), per endpoint, per status. Each node reports ``count``,
``success_count`` and an ``average`` that is the mean of the *last ten*
durations, not of all of them; the shim keeps that window so clients that
watched ``average`` see the same figure, but reports milliseconds as floats
(Vyked truncated to whole milliseconds, which reads 0 for fast handlers).
Endpoints are keyed by method and path pattern (``"GET /users/{username}"``)
rather than by handler name, so one handler served on two paths shows twice.

Statistics are per process, as in Vyked: with several workers each answers
``/_stats`` with its own figures.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

WINDOW = 10  # Vyked's StatUnit.MAXSIZE


class StatUnit:
    """One node of the statistics tree."""

    __slots__ = ("_values", "count", "sub", "success_count")

    def __init__(self) -> None:
        self._values: deque[float] = deque(maxlen=WINDOW)
        self.count = 0
        self.success_count = 0
        self.sub: dict[str, StatUnit] = {}

    def update(self, duration_ms: float, success: bool) -> None:
        """Record one request."""
        self._values.append(duration_ms)
        self.count += 1
        if success:
            self.success_count += 1

    @property
    def average(self) -> float:
        """Mean duration (ms) of the last :data:`WINDOW` requests."""
        if not self._values:
            return 0
        return round(sum(self._values) / len(self._values), 3)

    def to_dict(self) -> dict[str, Any]:
        """``{"count", "average", "success_count", "sub"}``, recursively."""
        return {
            "count": self.count,
            "average": self.average,
            "success_count": self.success_count,
            "sub": {key: unit.to_dict() for key, unit in self.sub.items()},
        }


class Aggregator:
    """The statistics of one application: total -> ``http`` -> endpoint -> status."""

    def __init__(self) -> None:
        self._root = StatUnit()
        # Sync workers serve one request at a time, but a threaded server may
        # not; the lock is uncontended in the common case.
        self._lock = threading.Lock()

    def update(self, endpoint: str, status: str, duration_ms: float, success: bool) -> None:
        """Record one request to ``endpoint`` that ended with ``status``."""
        with self._lock:
            node = self._root
            node.update(duration_ms, success)
            for key in ("http", endpoint, status):
                child = node.sub.get(key)
                if child is None:
                    child = node.sub[key] = StatUnit()
                child.update(duration_ms, success)
                node = child

    def dump(self) -> dict[str, Any]:
        """The whole tree as JSON-ready dicts."""
        with self._lock:
            return self._root.to_dict()
