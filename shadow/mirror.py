"""Sending one captured request to every side, and keeping chains in order.

:class:`Mirror` owns each side's state (id map, ids whose creating write was
skipped) and does, per side: rewrite the request, send it, learn new ids from
the answer, then poll pending objects (payments still ``processing``) to a
final state so the comparison sees settled objects on both sides.

:class:`Lanes` runs exchanges concurrently but keeps each payment's requests
in order: a request that refers to an id goes to the lane of the request that
created it, so a confirm never overtakes its create on a slow side.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp

from shadow.capture import Json, RecordedRequest, SideResult
from shadow.mapping import (
    DEFAULT_ID_PREFIXES,
    IdMap,
    SideIdentity,
    id_regex,
    ids_in,
    ids_referenced,
    rewrite_request,
)

# Hop-by-hop and framing headers are the transport's business, never forwarded.
# accept-encoding is dropped so bodies arrive (and are recorded) uncompressed.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)

PENDING: Mapping[str, frozenset[str]] = {
    "payment": frozenset({"processing"}),
    "refund": frozenset({"pending", "processing"}),
}
_READ_PATH = {"payment": "/v1/payments/{}", "refund": "/v1/refunds/{}"}


def forwardable(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _NOT_FORWARDED}


@dataclass(frozen=True)
class PollSettings:
    """How long pending objects are polled before the comparison gives up waiting."""

    timeout_s: float = 10.0
    interval_s: float = 0.05
    sync_after_s: float = 2.0  # then ask the service to reconcile with the gateway


@dataclass(frozen=True)
class SideTarget:
    identity: SideIdentity
    url: str
    writes: bool = True  # whether POST/PUT/PATCH/DELETE may be sent to this side

    @property
    def name(self) -> str:
        return self.identity.name


@dataclass
class SideState:
    target: SideTarget
    ids: IdMap
    skipped_ids: set[str] = field(default_factory=set)
    sent: int = 0
    failed: int = 0


async def send_http(
    session: aiohttp.ClientSession, base_url: str, request: RecordedRequest, timeout_s: float
) -> SideResult:
    """Send ``request`` to ``base_url``; transport failures become ``status=0``."""
    url = base_url.rstrip("/") + request.path
    started = time.perf_counter()
    try:
        async with session.request(
            request.method,
            url,
            params=dict(request.query) or None,
            headers=forwardable(request.headers),
            data=request.body.encode() if request.body else None,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            latency = (time.perf_counter() - started) * 1000.0
            headers = {k.lower(): v for k, v in resp.headers.items()}
            return SideResult(
                status=resp.status,
                headers=headers,
                body=raw.decode("utf-8", errors="replace"),
                latency_ms=latency,
                sent_path=request.path,
            )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        latency = (time.perf_counter() - started) * 1000.0
        return SideResult(
            error=f"{type(exc).__name__}: {exc}", latency_ms=latency, sent_path=request.path
        )


def pending_object(body: Json) -> tuple[str, str] | None:
    """(kind, id) when ``body`` is a payment or refund that is not final yet."""
    if not isinstance(body, dict):
        return None
    kind = body.get("object")
    status = body.get("status")
    obj_id = body.get("id")
    if isinstance(kind, str) and isinstance(obj_id, str) and status in PENDING.get(kind, ()):
        return kind, obj_id
    return None


class Mirror:
    """Per-side state and the send/learn/poll sequence of one exchange."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        targets: Sequence[SideTarget],
        *,
        poll: PollSettings | None = None,
        id_prefixes: Iterable[str] = DEFAULT_ID_PREFIXES,
        timeout_s: float = 15.0,
    ) -> None:
        self.session = session
        prefixes = tuple(id_prefixes)
        self.pattern = id_regex(prefixes)
        self.states = {t.name: SideState(t, IdMap(prefixes)) for t in targets}
        self.poll = poll or PollSettings()
        self.timeout_s = timeout_s

    async def exchange(
        self, request: RecordedRequest, reference: Json, sides: Sequence[str]
    ) -> dict[str, SideResult]:
        """Send ``request`` to ``sides`` concurrently; results keyed by side name."""
        names = [s for s in sides if s in self.states]
        results = await asyncio.gather(
            *(self._one(self.states[n], request, reference) for n in names)
        )
        return dict(zip(names, results, strict=True))

    async def _one(self, state: SideState, request: RecordedRequest, reference: Json) -> SideResult:
        created = ids_in(reference, self.pattern)
        if request.is_write and not state.target.writes:
            state.skipped_ids |= created
            return SideResult(skipped="write not allowed (use --allow-writes)")
        if ids_referenced(request, self.pattern) & state.skipped_ids:
            state.skipped_ids |= created
            return SideResult(skipped="depends on a skipped write")
        sent = rewrite_request(request, state.target.identity, state.ids)
        result = await send_http(self.session, state.target.url, sent, self.timeout_s)
        state.sent += 1
        if result.error is not None:
            state.failed += 1
        if reference is not None and result.answered:
            state.ids.learn(reference, result.json_body())
        await self.settle(state.target.name, sent.headers.get("authorization"), result)
        return result

    async def settle(self, side: str, authorization: str | None, result: SideResult) -> None:
        """Poll a pending payment or refund in ``result`` until it is final (in place)."""
        pending = pending_object(result.json_body()) if result.answered else None
        if pending is None:
            return
        kind, obj_id = pending
        target = self.states[side].target
        headers = {"authorization": authorization} if authorization else {}
        read = RecordedRequest("GET", _READ_PATH[kind].format(obj_id), headers=headers)
        sync = RecordedRequest("POST", f"/v1/payments/{obj_id}/sync", headers=headers)
        started = time.monotonic()
        synced = kind != "payment"
        result.initial_body = result.body
        while time.monotonic() - started < self.poll.timeout_s:
            await asyncio.sleep(self.poll.interval_s)
            elapsed = time.monotonic() - started
            use_sync = not synced and elapsed >= self.poll.sync_after_s
            synced = synced or use_sync
            polled = await send_http(
                self.session, target.url, sync if use_sync else read, self.timeout_s
            )
            result.polls += 1
            if polled.status == 200 and pending_object(polled.json_body()) is None:
                result.body = polled.body
                return
        # Still pending: the comparison sees the last state and the report the poll count.


def chain_key(request: RecordedRequest, fallback: str) -> str:
    """Requests of one merchant and order share a lane (create, retry, list by order)."""
    body = request.json_body()
    order = body.get("order_id") if isinstance(body, dict) else None
    order = order or request.query.get("order_id")
    return f"{request.headers.get('authorization', '')}:{order or fallback}"


@dataclass
class _Job:
    run: Callable[[], Awaitable[None]]


class Lanes:
    """N ordered queues; a bounded number of pending jobs, overflow counted as drops."""

    def __init__(self, count: int = 4, max_pending: int = 1000) -> None:
        self.count = max(1, count)
        self.max_pending = max_pending
        self.pending = 0
        self.dropped = 0
        self.failed = 0
        self._owner: dict[str, int] = {}
        self._queues: list[asyncio.Queue[_Job | None]] = [
            asyncio.Queue() for _ in range(self.count)
        ]
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if not self._workers:
            self._workers = [asyncio.create_task(self._work(q)) for q in self._queues]

    def submit(
        self,
        run: Callable[[], Awaitable[None]],
        *,
        refers_to: Iterable[str],
        creates: Iterable[str],
        chain_key: str,
    ) -> bool:
        """Queue ``run``; False (and a drop counted) when too many jobs are pending."""
        if self.pending >= self.max_pending:
            self.dropped += 1
            return False
        lane = next((self._owner[i] for i in refers_to if i in self._owner), None)
        if lane is None:
            lane = zlib.crc32(chain_key.encode()) % self.count
        for created in creates:
            self._owner[created] = lane
        self.pending += 1
        self._idle.clear()
        self._queues[lane].put_nowait(_Job(run))
        return True

    async def _work(self, queue: asyncio.Queue[_Job | None]) -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            try:
                await job.run()
            except Exception:  # noqa: BLE001 - one broken exchange must not stop the lane
                self.failed += 1  # it is counted instead
            finally:
                self.pending -= 1
                if self.pending == 0:
                    self._idle.set()

    async def drain(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
