"""Ping: ``GET /ping`` only; measures the bare HTTP path (and the load generator itself)."""

from __future__ import annotations

from locust import FastHttpUser, task

from loadtests.scenarios.common import SETTINGS


class PingUser(FastHttpUser):
    """Hits the liveness endpoint as fast as the model allows."""

    def wait_time(self) -> float:
        return SETTINGS.think_time_s

    @task
    def ping(self) -> None:
        with self.client.get("/ping", name="GET /ping", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}, expected 200")
