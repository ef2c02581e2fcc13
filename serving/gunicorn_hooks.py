"""Gunicorn server hooks shared by both services (``--config python:serving.gunicorn_hooks``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges leave the service's /metrics."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
