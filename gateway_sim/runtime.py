"""The simulator's live state and the behaviour shared by both gateway APIs.

One ``SimState`` is shared by every handler as ``request.state``. It owns the
per-call random draws (``gateway_sim.draws``), the latency models, the
merchants, orders, ledger and webhook dispatcher.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

from gateway_sim.config import FaultRates, Profile
from gateway_sim.draws import CallKey, Draws
from gateway_sim.hooks import (
    ChargePlan,
    EntryFault,
    RefundResult,
    call_fault,
    hooked_charge,
    plan_charge,
    plan_refund,
)
from gateway_sim.http import HTTPGatewayTimeout, Request
from gateway_sim.latency import LatencyModel, build_models
from gateway_sim.ledger import Ledger
from gateway_sim.state import Merchant, Orders, Registry
from gateway_sim.webhooks import Dispatcher, Notification


class SimState:
    def __init__(self, profile: Profile, seed: int) -> None:
        self.seed = seed
        self.registry = Registry()
        self.orders = Orders()
        self.ledger = Ledger()
        self.dispatcher = Dispatcher()
        self.tasks: set[asyncio.Task[None]] = set()
        self.requests = 0
        self.profile = profile
        self.draws = Draws(seed)
        # Only for calls that cannot be identified (bad credentials or bodies):
        # every outcome of an identified call comes from ``draws``.
        self.rng = random.Random(seed)
        self.latency: dict[str, LatencyModel] = build_models(profile.latency, seed)
        self._instant = all(m.spec.p50_ms <= 0 for m in self.latency.values())
        self._faultless = profile.faults == FaultRates()

    def set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self.latency = build_models(profile.latency, self.seed)
        self._instant = all(m.spec.p50_ms <= 0 for m in self.latency.values())
        self._faultless = profile.faults == FaultRates()

    async def reset(self) -> None:
        """Forget orders, ledger and deliveries; keep merchants and the profile."""
        await self.cancel_tasks()
        await self.dispatcher.cancel_all()
        self.dispatcher.clear_log()
        self.orders.clear()
        self.ledger.clear()
        self.requests = 0
        self.draws.clear()
        self.rng = random.Random(self.seed)
        self.latency = build_models(self.profile.latency, self.seed)

    async def cancel_tasks(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def sends_webhooks(self, merchant: Merchant) -> bool:
        """Whether a webhook to ``merchant`` would be sent: without, none is even built."""
        return self.profile.webhook.enabled and bool(merchant.webhook_url)

    def notify(self, note: Notification, key: CallKey, delay: float = 0.0) -> None:
        """Send a webhook, sometimes twice (profile's duplicate rate).

        ``key`` is the order's (or refund's) call key: the same event is
        duplicated on every side of a shadow run alike.
        """
        settings = self.profile.webhook
        delay += settings.delay_s
        self.dispatcher.spawn_later(delay, note, settings)
        if settings.duplicate_rate:
            rng = self.draws.rng(key, "webhook-duplicate:" + note.event)
            if rng.random() < settings.duplicate_rate:
                self.dispatcher.spawn_later(delay + 0.05, note, settings)

    def draw_delay(self, kind: str, key: CallKey | None) -> tuple[bool, float]:
        """``(stalls, seconds)`` for one call of ``kind``.

        ``key`` identifies the call (``gateway_sim.draws``); None for a call
        that could not be identified, which draws from the arrival-order stream.
        """
        stall = self.profile.faults.stall
        if not stall and self._instant:
            return False, 0.0
        rng = self.rng if key is None else self.draws.rng(key, "latency:" + kind)
        if stall and rng.random() < stall:
            return True, self.profile.stall_s
        if self._instant:
            return False, 0.0
        return False, self.latency[kind].draw(None if key is None else rng)

    async def delay(self, kind: str, key: CallKey | None) -> None:
        """Sleep the modelled latency for ``kind``; a rare stall ends in a 504, nothing done."""
        self.requests += 1
        stalls, seconds = self.draw_delay(kind, key)
        if stalls:
            # Stall *before* doing anything, then give up: the caller has timed
            # out, and a status query (now or later) sees that nothing happened.
            await asyncio.sleep(seconds)
            raise HTTPGatewayTimeout(
                text='{"error":"upstream stalled"}', content_type="application/json"
            )
        if seconds > 0:
            await asyncio.sleep(seconds)

    def call_fault(self, key: CallKey) -> EntryFault:
        """429 or 5xx on a call that changes nothing (a status read), drawn for ``key``."""
        faults = self.profile.faults
        if not (faults.rate_limit or faults.server_error):
            return EntryFault.NONE
        return call_fault(faults, self.draws.rng(key, "call-fault"))

    def charge_plan(self, key: CallKey, amount: int) -> ChargePlan:
        """A new order's fate (hooks first, then the profile's rates), drawn for ``key``."""
        if self._faultless:  # e.g. instant: only the amount hooks decide, nothing to draw
            forced = hooked_charge(amount) if self.profile.hooks else None
            return forced or ChargePlan()
        rng = self.draws.rng(key, "charge")
        return plan_charge(amount, "", self.profile.faults, rng, hooks=self.profile.hooks)

    def refund_plan(self, key: CallKey, amount: int) -> RefundResult:
        # Without a 5xx rate plan_refund draws nothing: skip building the generator.
        faults = self.profile.faults
        rng = self.draws.rng(key, "refund") if faults.server_error else self.rng
        return plan_refund(amount, faults, rng, hooks=self.profile.hooks)

    async def stall(self) -> None:
        await asyncio.sleep(self.profile.stall_s)


def reset_connection(request: SimRequest) -> None:
    """Drop the connection without a reply: the client sees a reset."""
    transport = request.transport
    if transport is not None:
        transport.abort()


SimRequest = Request[SimState]
"""A request to the simulator: its handlers reach the state as ``request.state``."""
