"""Webhook delivery: POST to the merchant, retry with backoff until a 200.

Real gateways retry for hours; the simulator keeps the same shape with a
bounded number of attempts (``WebhookSettings.max_attempts``) and a doubling
backoff. Every attempt is logged for ``GET /__admin__/webhooks``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from gateway_sim.config import WebhookSettings

MAX_LOG = 10_000


@dataclass(frozen=True, slots=True)
class Notification:
    gateway: str
    merchant_id: str
    order_id: str
    event_id: str
    event: str  # event name or STATUS
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class DeliveryRecord:
    gateway: str
    merchant_id: str
    order_id: str
    event_id: str
    event: str
    url: str
    attempt: int
    status: int  # HTTP status, 0 = no response
    error: str
    at: float


class Dispatcher:
    """Sends notifications in background tasks owned by the app."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.log: list[DeliveryRecord] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.delivered = 0
        self.failed = 0

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200), raise_for_status=False
        )

    async def close(self) -> None:
        await self.cancel_all()
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def cancel_all(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    def clear_log(self) -> None:
        self.log.clear()
        self.delivered = 0
        self.failed = 0

    def spawn_later(self, delay: float, note: Notification, settings: WebhookSettings) -> None:
        if not settings.enabled or not note.url:
            return
        task = asyncio.get_running_loop().create_task(self._run(delay, note, settings))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, delay: float, note: Notification, settings: WebhookSettings) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        backoff = settings.backoff_s
        for attempt in range(1, settings.max_attempts + 1):
            status, error = await self._post(note, settings.timeout_s)
            self._remember(note, attempt, status, error)
            if status == 200:
                self.delivered += 1
                return
            if attempt < settings.max_attempts:
                await asyncio.sleep(backoff)
                backoff *= 2
        self.failed += 1

    async def _post(self, note: Notification, timeout_s: float) -> tuple[int, str]:
        if self.session is None:
            return 0, "dispatcher closed"
        try:
            async with self.session.post(
                note.url,
                data=note.body,
                headers=dict(note.headers),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                await resp.read()
                return resp.status, ""
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return 0, type(exc).__name__

    def _remember(self, note: Notification, attempt: int, status: int, error: str) -> None:
        if len(self.log) >= MAX_LOG:
            del self.log[: MAX_LOG // 10]
        self.log.append(
            DeliveryRecord(
                note.gateway,
                note.merchant_id,
                note.order_id,
                note.event_id,
                note.event,
                note.url,
                attempt,
                status,
                error,
                time.time(),
            )
        )

    def report(self, merchant_id: str | None = None) -> dict[str, Any]:
        rows = [asdict(r) for r in self.log if merchant_id is None or r.merchant_id == merchant_id]
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "in_flight": len(self.tasks),
            "attempts": rows,
        }
