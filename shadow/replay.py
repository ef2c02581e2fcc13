"""Replaying a capture against primary, candidate and (optionally) secondary.

Requests are dispatched in capture order at a chosen rate (requests per
second; 0 means as fast as the lanes allow). Each side is a replay target
with its own state, so every side gets rewritten API keys, its own
idempotency keys and ids mapped from capture space. Each replay has a scope
of its own (idempotency keys and order ids new to it), so a capture replays
clean on the very stack it was captured from, as often as wanted. Like
AREX, the replay stops when more than 10% of the sends to a side fail at the
transport level: the comparison of a side that is down says nothing.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import aiohttp

from shadow.capture import ORIGINAL, CaptureWriter, Exchange, SideResult
from shadow.errors import ReplayAborted, ShadowConfigError
from shadow.mapping import DEFAULT_ID_PREFIXES, SideIdentity, ids_in, ids_referenced
from shadow.mirror import Lanes, Mirror, PollSettings, SideTarget, chain_key


@dataclass(frozen=True)
class ReplaySettings:
    """A replay, resolved once from the command line or by ``shadow run``."""

    primary: str
    candidate: str
    secondary: str | None = None
    rate: float = 0.0
    allow_writes: bool = False
    keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    lanes: int = 4
    pool_size: int = 50
    timeout_s: float = 15.0
    poll: PollSettings = field(default_factory=PollSettings)
    id_prefixes: tuple[str, ...] = DEFAULT_ID_PREFIXES
    abort_ratio: float = 0.10
    abort_min_sends: int = 20
    # Fresh per replay: suffix of this replay's idempotency keys and order ids.
    scope: str = field(default_factory=lambda: secrets.token_hex(4))

    def __post_init__(self) -> None:
        if not _SCOPE.fullmatch(self.scope):
            raise ShadowConfigError(f"replay scope must be 1-16 letters or digits: {self.scope!r}")

    @property
    def sides(self) -> tuple[str, ...]:
        if self.secondary:
            return ("primary", "secondary", "candidate")
        return ("primary", "candidate")


_SCOPE = re.compile(r"[A-Za-z0-9]{1,16}")


@dataclass
class ReplayStats:
    scope: str = ""
    dispatched: int = 0
    recorded: int = 0
    late: int = 0  # dispatched more than 100 ms after their intended time
    failed_jobs: int = 0
    elapsed_s: float = 0.0
    sends: dict[str, tuple[int, int]] = field(default_factory=dict)  # side -> (sent, failed)

    def to_json(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "dispatched": self.dispatched,
            "recorded": self.recorded,
            "late": self.late,
            "failed_jobs": self.failed_jobs,
            "elapsed_s": round(self.elapsed_s, 3),
            "sends": {k: {"sent": s, "failed": f} for k, (s, f) in self.sends.items()},
        }


def _targets(settings: ReplaySettings) -> list[SideTarget]:
    urls = {"primary": settings.primary, "candidate": settings.candidate}
    if settings.secondary:
        urls["secondary"] = settings.secondary
    return [
        SideTarget(SideIdentity(name, settings.keys.get(name, {}), scope=settings.scope), url,
                   writes=settings.allow_writes)
        for name, url in urls.items()
    ]


def _aborted(mirror: Mirror, settings: ReplaySettings) -> ReplayAborted | None:
    for name, state in mirror.states.items():
        if state.sent >= settings.abort_min_sends and (
            state.failed > settings.abort_ratio * state.sent
        ):
            return ReplayAborted(name, state.failed, state.sent)
    return None


async def replay(
    exchanges: Iterable[Exchange], settings: ReplaySettings, writer: CaptureWriter
) -> ReplayStats:
    """Replay ``exchanges`` in order; every result line goes to ``writer``."""
    stats = ReplayStats(scope=settings.scope)
    connector = aiohttp.TCPConnector(limit=settings.pool_size)
    async with aiohttp.ClientSession(connector=connector) as session:
        mirror = Mirror(session, _targets(settings), poll=settings.poll,
                        id_prefixes=settings.id_prefixes, timeout_s=settings.timeout_s)
        lanes = Lanes(settings.lanes, max_pending=10**9)
        lanes.start()
        started = time.monotonic()
        abort: ReplayAborted | None = None
        try:
            for index, exchange in enumerate(exchanges):
                abort = _aborted(mirror, settings)
                if abort is not None:
                    break
                if settings.rate > 0:
                    due = started + index / settings.rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif delay < -0.1:
                        stats.late += 1
                _dispatch(exchange, mirror=mirror, lanes=lanes, writer=writer, settings=settings,
                          stats=stats)
                # Let lanes start work between dispatches when no rate is set.
                await asyncio.sleep(0)
            await lanes.drain()
        finally:
            await lanes.close()
        stats.failed_jobs = lanes.failed
        stats.elapsed_s = time.monotonic() - started
        stats.sends = {n: (s.sent, s.failed) for n, s in mirror.states.items()}
        abort = abort or _aborted(mirror, settings)
    if abort is not None:
        raise abort
    return stats


def _dispatch(
    exchange: Exchange,
    *,
    mirror: Mirror,
    lanes: Lanes,
    writer: CaptureWriter,
    settings: ReplaySettings,
    stats: ReplayStats,
) -> None:
    reference = exchange.reference_body()
    original: SideResult | None = exchange.sides.get(ORIGINAL) or exchange.sides.get("primary")

    async def run() -> None:
        results = await mirror.exchange(exchange.request, reference, settings.sides)
        sides: dict[str, SideResult] = {}
        if original is not None:
            sides[ORIGINAL] = original
        sides.update(results)
        writer.write(Exchange(exchange.id, time.time(), exchange.request, exchange.alias, sides))
        stats.recorded += 1

    lanes.submit(
        run,
        refers_to=ids_referenced(exchange.request, mirror.pattern),
        creates=ids_in(reference, mirror.pattern),
        chain_key=chain_key(exchange.request, exchange.id),
    )
    stats.dispatched += 1
