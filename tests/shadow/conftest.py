"""Fixtures for the shadow tests: three fake sides sharing one fake ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from shadow_fakes import Behaviour, FakeService, Ledger, ledger_app, serve

# Capture-space API keys (what a hand-written capture or the primary's caller uses)
# and each side's own keys and simulator merchant ids.
CAPTURE_KEYS = ("key_0", "key_1")


@dataclass
class Side:
    name: str
    url: str
    service: FakeService

    @property
    def merchant_ids(self) -> frozenset[str]:
        return frozenset(self.service.keys.values())


@dataclass
class Trio:
    primary: Side
    secondary: Side
    candidate: Side
    ledger: Ledger
    ledger_url: str

    @property
    def sides(self) -> tuple[Side, Side, Side]:
        return (self.primary, self.secondary, self.candidate)

    def replay_keys(self) -> dict[str, dict[str, str]]:
        """Capture-space key -> each side's own key."""
        return {
            s.name: {cap: f"{s.name}_key_{i}" for i, cap in enumerate(CAPTURE_KEYS)}
            for s in self.sides
        }

    def proxy_keys(self) -> dict[str, dict[str, str]]:
        """Behind the proxy the caller holds primary keys; shadow sides get their own."""
        return {
            s.name: {f"primary_key_{i}": f"{s.name}_key_{i}" for i in range(len(CAPTURE_KEYS))}
            for s in (self.secondary, self.candidate)
        }


def make_service(name: str, ledger: Ledger, behaviour: Behaviour) -> FakeService:
    keys = {f"{name}_key_{i}": f"{name}_merchant_{i}" for i in range(len(CAPTURE_KEYS))}
    return FakeService(keys=keys, ledger=ledger, behaviour=behaviour)


class TrioFactory:
    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def __call__(
        self,
        candidate: Behaviour | None = None,
        primary: Behaviour | None = None,
        secondary: Behaviour | None = None,
    ) -> Trio:
        ledger = Ledger()
        sides = []
        for name, behaviour in (("primary", primary), ("secondary", secondary),
                                ("candidate", candidate)):
            service = make_service(name, ledger, behaviour or Behaviour())
            url = await self._stack.enter_async_context(serve(service.app()))
            sides.append(Side(name, url, service))
        ledger_url = await self._stack.enter_async_context(serve(ledger_app(ledger)))
        return Trio(sides[0], sides[1], sides[2], ledger, ledger_url)


@pytest.fixture
async def trio() -> AsyncIterator[TrioFactory]:
    """Start fake primary, secondary and candidate services on free local ports."""
    async with AsyncExitStack() as stack:
        yield TrioFactory(stack)
