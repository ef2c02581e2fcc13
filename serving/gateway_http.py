"""The async services' HTTP/1.1 client for gateway calls: keep-alive connections to one origin.

A gateway call is a small request to one known origin whose reply the flow
parses itself, so the client needs no redirects, cookies, proxies,
compression or streaming. ``aiohttp.ClientSession`` does all of that on
every call, and on a create-and-confirm (two gateway calls) it was the
largest cost of the engine's own process after asyncpg: 80-130 us of CPU
per call against 25-30 us for this client, the same requests to the
simulator from one process (``benchmarks/README.md``). This client keeps idle
connections to the origin, writes each request in one ``write`` and parses
the reply with ``httptools`` (the C parser uvicorn and Sanic use).

Errors are what the gateway protocols need to tell apart
(``payments.gateways``): ``ConnectFailed`` when nothing was sent (the
connection could not be made, refused or not before the deadline),
``TimeoutError`` when the deadline passed after the request was sent,
``ResponseFailed`` when the connection broke or the reply was not HTTP
after the request may have been sent.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import httptools

# Idle connections kept open per client; a burst above it opens more, and
# closes the extra ones when they come back.
MAX_IDLE = 64


class GatewayHttpError(Exception):
    """A call failed below HTTP."""


class ConnectFailed(GatewayHttpError):
    """The connection could not be made: the request was not sent."""


class ResponseFailed(GatewayHttpError):
    """The connection broke, or the reply was not HTTP, after the request may have been sent."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._reply: asyncio.Future[tuple[int, dict[str, str], bytes]] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self.reusable = True

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's: a cast, not a check
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ResponseFailed(f"bad reply from the gateway: {exc}"))

    def eof_received(self) -> bool:
        self.reusable = False
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(ResponseFailed(f"connection closed by the gateway: {exc or 'end of stream'}"))

    # -- httptools callbacks -------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1")] = value.decode("utf-8", "surrogateescape")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        reply, self._reply = self._reply, None
        if not self._parser.should_keep_alive():
            self.reusable = False
        status = self._parser.get_status_code()
        headers, self._headers = self._headers, {}
        body = b"".join(self._body)
        self._body = []
        if reply is None or reply.done():
            self.reusable = False  # a reply nobody asked for: the stream is out of step
            return
        reply.set_result((status, headers, body))

    # -- use -----------------------------------------------------------------------------

    def send(self, data: bytes) -> asyncio.Future[tuple[int, dict[str, str], bytes]]:
        assert self._transport is not None
        assert self._reply is None
        self._reply = asyncio.get_running_loop().create_future()
        self._transport.write(data)
        return self._reply

    def expire(self) -> None:
        """The deadline passed: the pending call fails with TimeoutError, the connection goes."""
        self._fail(TimeoutError("the gateway did not answer in time"))

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.set_exception(exc)
        if self._transport is not None:
            self._transport.close()

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.abort()


class GatewayHttpClient:
    """HTTP/1.1 requests to one origin (``base_url``) over reused connections."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"gateway URL must be http(s)://host[:port][/path], got {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if parts.scheme == "https" else None
        )
        self._prefix = parts.path.rstrip("/")
        self._host_header = f"Host: {parts.netloc}\r\n"
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> tuple[int, dict[str, str], bytes]:
        """``(status, headers, body)`` of one call, all of it within ``timeout_s``."""
        head = [f"{method} {self._prefix}{path} HTTP/1.1\r\n", self._host_header]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} holds a line break")
            head.append(f"{name}: {value}\r\n")
        if body or method not in ("GET", "HEAD"):
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        data = "".join(head).encode() + body
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        conn = await self._connection(deadline)
        # One timer on the loop rather than asyncio.timeout(): no Timeout object,
        # no task cancellation and uncancellation on every call.
        timer = loop.call_at(deadline, conn.expire)
        try:
            reply = await conn.send(data)
        except BaseException:
            conn.close()
            raise
        finally:
            timer.cancel()
        if conn.reusable and not self._closed and len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def _connection(self, deadline: float) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable:  # the gateway may have closed it while it was idle
                return conn
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await asyncio.get_running_loop().create_connection(
                    _Connection, self._host, self._port, ssl=self._ssl
                )
        except OSError as exc:  # refused, unreachable, or no connection before the deadline
            # nothing was sent: a connect timeout is a failed connection, not an ambiguous call
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise ConnectFailed(f"cannot connect to {self._host}:{self._port}: {reason}") from exc
        return conn

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
