"""The mirror proxy: the caller talks to the primary, the candidate is shadowed.

The caller gets the primary's response unchanged (status, body bytes, headers
other than hop-by-hop ones) as soon as the primary answers. Only then is the
exchange queued for the candidate (and the secondary, when configured); a full
queue drops the mirror copy and counts it, it never slows the caller down.
Writes reach the shadow sides only with ``allow_writes``: without separate
state per side a mirrored write would act twice on one system (Diffy refuses
writes for the same reason).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from yarl import URL

from shadow.capture import CaptureWriter, Exchange, RecordedRequest, SideResult
from shadow.mapping import DEFAULT_ID_PREFIXES, SideIdentity, ids_in, ids_referenced
from shadow.mirror import Lanes, Mirror, PollSettings, SideTarget, chain_key, forwardable

STATS_PATH = "/__shadow__/stats"


@dataclass(frozen=True)
class ProxySettings:
    """Everything the proxy needs, resolved once from the command line."""

    primary: str
    candidate: str
    capture: Path
    secondary: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    allow_writes: bool = False
    keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    lanes: int = 4
    max_pending: int = 1000
    pool_size: int = 200
    timeout_s: float = 15.0
    poll: PollSettings = field(default_factory=PollSettings)
    id_prefixes: tuple[str, ...] = DEFAULT_ID_PREFIXES


@dataclass
class ProxyStats:
    received: int = 0
    recorded: int = 0
    primary_errors: int = 0


@dataclass
class ProxyState:
    settings: ProxySettings
    session: aiohttp.ClientSession
    mirror: Mirror
    lanes: Lanes
    writer: CaptureWriter
    stats: ProxyStats = field(default_factory=ProxyStats)

    @property
    def shadow_sides(self) -> tuple[str, ...]:
        if self.settings.secondary:
            return ("secondary", "candidate")
        return ("candidate",)


STATE_KEY = web.AppKey("shadow_proxy_state", ProxyState)


def _targets(settings: ProxySettings) -> list[SideTarget]:
    keys = settings.keys
    targets = [
        # The primary is the real traffic path: the caller's own key and
        # idempotency key go through untouched, and writes always do.
        SideTarget(SideIdentity("primary", keys.get("primary", {}), derive_keys=False),
                   settings.primary),
        SideTarget(SideIdentity("candidate", keys.get("candidate", {})), settings.candidate,
                   writes=settings.allow_writes),
    ]
    if settings.secondary:
        targets.append(
            SideTarget(SideIdentity("secondary", keys.get("secondary", {})), settings.secondary,
                       writes=settings.allow_writes)
        )
    return targets


async def _resources(app: web.Application, settings: ProxySettings) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=settings.pool_size, limit_per_host=settings.pool_size)
    # auto_decompress stays on: accept-encoding is never forwarded, so bodies are plain.
    session = aiohttp.ClientSession(connector=connector)
    mirror = Mirror(session, _targets(settings), poll=settings.poll,
                    id_prefixes=settings.id_prefixes, timeout_s=settings.timeout_s)
    lanes = Lanes(settings.lanes, settings.max_pending)
    lanes.start()
    writer = CaptureWriter(settings.capture)
    app[STATE_KEY] = ProxyState(settings, session, mirror, lanes, writer)
    try:
        yield
    finally:
        await lanes.drain()
        await lanes.close()
        writer.close()
        await session.close()


async def _forward_primary(
    state: ProxyState, request: web.Request, body: bytes
) -> tuple[SideResult, bytes, list[tuple[str, str]]]:
    """Send the caller's request to the primary as is; keep the raw answer bytes."""
    url = state.settings.primary.rstrip("/") + request.rel_url.raw_path_qs
    headers = forwardable(dict(request.headers.items()))
    started = time.perf_counter()
    try:
        async with state.session.request(
            request.method, URL(url, encoded=True), headers=headers,
            data=body or None, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=state.settings.timeout_s),
        ) as resp:
            raw = await resp.read()
            latency = (time.perf_counter() - started) * 1000.0
            pairs = [(k, v) for k, v in resp.headers.items()]
            result = SideResult(
                status=resp.status,
                headers={k.lower(): v for k, v in pairs},
                body=raw.decode("utf-8", errors="replace"),
                latency_ms=latency,
                sent_path=request.path,
            )
            return result, raw, pairs
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        latency = (time.perf_counter() - started) * 1000.0
        return SideResult(error=f"{type(exc).__name__}: {exc}", latency_ms=latency), b"", []


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.path == STATS_PATH:
        return web.json_response(stats_of(state))
    state.stats.received += 1
    body = await request.read()
    t = time.time()
    primary, raw, pairs = await _forward_primary(state, request, body)
    if primary.error is not None:
        state.stats.primary_errors += 1
        response: web.StreamResponse = web.Response(
            status=502,
            body=json.dumps({"error": "primary unavailable", "code": "bad_gateway"}).encode(),
            content_type="application/json",
        )
    else:
        out_headers = [(k, v) for k, v in pairs if k.lower() not in _DROP_ON_RETURN]
        response = web.Response(status=primary.status, body=raw)
        for key, value in out_headers:
            response.headers.add(key, value)
    # The caller's answer goes out before the mirror copy is even queued, so
    # the shadow sends never compete with it for the event loop or the socket.
    await response.prepare(request)
    await response.write_eof()
    _enqueue(state, request, body, t, primary)
    return response


_DROP_ON_RETURN = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
     "date", "server"}
)


def _enqueue(
    state: ProxyState, request: web.Request, body: bytes, t: float, primary: SideResult
) -> None:
    recorded = RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query.items()),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body.decode("utf-8", errors="replace"),
    )
    reference = primary.json_body() if primary.answered else None
    exchange = Exchange(uuid.uuid4().hex, t, recorded, sides={"primary": primary})
    mirror = state.mirror

    async def run() -> None:
        results = await mirror.exchange(recorded, reference, state.shadow_sides)
        await mirror.settle("primary", recorded.headers.get("authorization"), primary)
        exchange.sides.update(results)
        state.writer.write(exchange)
        state.stats.recorded += 1

    state.lanes.submit(
        run,
        refers_to=ids_referenced(recorded, mirror.pattern),
        creates=ids_in(reference, mirror.pattern),
        chain_key=chain_key(recorded, exchange.id),
    )


def stats_of(state: ProxyState) -> dict[str, int]:
    return {
        "received": state.stats.received,
        "recorded": state.stats.recorded,
        "primary_errors": state.stats.primary_errors,
        "pending": state.lanes.pending,
        "dropped": state.lanes.dropped,
        "failed": state.lanes.failed,
    }


def build_app(settings: ProxySettings) -> web.Application:
    """The proxy application; its resources live in a cleanup context."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.cleanup_ctx.append(functools.partial(_resources, settings=settings))
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class RunningProxy:
    """An in-process proxy on 127.0.0.1 (tests, benchmarks, ``shadow run``)."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self._runner = web.AppRunner(self.app, access_log=None)
        self.url = ""

    async def __aenter__(self) -> RunningProxy:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.settings.host}:{port}"
        return self

    @property
    def state(self) -> ProxyState:
        return self.app[STATE_KEY]

    async def drain(self) -> None:
        await self.state.lanes.drain()

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()
