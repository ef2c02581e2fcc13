"""A locustfile whose process reports a CPU warning (as Locust does above 90 % CPU)."""

from __future__ import annotations

from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task


class PingUser(FastHttpUser):
    """Pings slowly; the point is the warning, not the load."""

    wait_time = constant(0.05)

    @task
    def ping(self) -> None:
        self.client.get("/ping", name="GET /ping")


def _fire_warning(environment: Any) -> None:
    gevent.sleep(0.3)
    environment.events.cpu_warning.fire(environment=environment, cpu_usage=97.0)


def _on_test_start(environment: Any, **_kw: Any) -> None:
    gevent.spawn(_fire_warning, environment)


events.test_start.add_listener(_on_test_start)
