"""The async services' gateway client against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from serving.gateway_http import ConnectFailed, GatewayHttpClient, ResponseFailed

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path_qs,
            "body": body.decode(),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "peer": request.transport.get_extra_info("peername")[1]
            if request.transport
            else None,
        },
        headers={"X-Reply": "yes"},
    )


async def _chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for part in (b'{"a":', b'"chunked"', b"}"):
        await response.write(part)
    await response.write_eof()
    return response


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text="late")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """An aiohttp server with an echo, a chunked and a slow route; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/chunked", _chunked)
    app.router.add_get("/slow", _slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@contextlib.asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """A bare TCP server running ``handle`` per connection; every connection ends with it."""
    handlers: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await handle(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    srv = await asyncio.start_server(run, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.close()
        await srv.wait_closed()
        await asyncio.gather(*handlers, return_exceptions=True)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def test_post_sends_headers_body_and_length(server: str) -> None:
    """A POST arrives with its headers, Host, Content-Length and body; the reply is whole."""
    client = GatewayHttpClient(server + "/")
    status, headers, body = await client.request(
        "POST", "/echo?x=1", {"X-Merchantid": "m1", "Content-Type": "text/plain"}, b"a=1&b=2", 5
    )
    await client.close()
    assert status == 200
    assert headers["X-Reply"] == "yes"
    seen = json.loads(body)
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo?x=1"
    assert seen["body"] == "a=1&b=2"
    assert seen["headers"]["x-merchantid"] == "m1"
    assert seen["headers"]["content-length"] == "7"
    assert seen["headers"]["host"] == server.removeprefix("http://")


async def test_base_url_path_is_a_prefix(server: str) -> None:
    """A gateway URL with a path prefixes every request path, as base URL + path did."""
    app = web.Application()
    app.router.add_get("/api/v2/echo", _echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    client = GatewayHttpClient(f"http://127.0.0.1:{runner.addresses[0][1]}/api/v2/")
    status, _, _ = await client.request("GET", "/echo", {}, b"", 5)
    await client.close()
    await runner.cleanup()
    assert status == 200


async def test_connections_are_reused(server: str) -> None:
    """Sequential calls share one keep-alive connection (same client port each time)."""
    client = GatewayHttpClient(server)
    ports = set()
    for _ in range(5):
        _, _, body = await client.request("GET", "/echo", {}, b"", 5)
        ports.add(json.loads(body)["peer"])
    await client.close()
    assert len(ports) == 1


async def test_concurrent_calls_get_their_own_replies(server: str) -> None:
    """Concurrent calls never share a connection: every reply matches its request."""
    client = GatewayHttpClient(server)
    replies = await asyncio.gather(
        *(client.request("POST", "/echo", {}, str(i).encode(), 5) for i in range(50))
    )
    await client.close()
    assert [json.loads(body)["body"] for _, _, body in replies] == [str(i) for i in range(50)]


async def test_chunked_reply_is_joined(server: str) -> None:
    """A chunked reply arrives as one body."""
    client = GatewayHttpClient(server)
    status, _, body = await client.request("GET", "/chunked", {}, b"", 5)
    await client.close()
    assert (status, body) == (200, b'{"a":"chunked"}')


async def test_timeout_raises_timeout_error_and_drops_the_connection(server: str) -> None:
    """A reply later than the deadline is TimeoutError; the next call works on a new connection."""
    client = GatewayHttpClient(server)
    with pytest.raises(TimeoutError):
        await client.request("GET", "/slow", {}, b"", 0.2)
    status, _, _ = await client.request("GET", "/echo", {}, b"", 5)
    await client.close()
    assert status == 200


async def test_refused_connection_is_connect_failed() -> None:
    """Nothing listening: ConnectFailed (the request was never sent)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GatewayHttpClient(f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectFailed):
        await client.request("GET", "/", {}, b"", 5)


async def test_reset_before_reply_is_response_failed() -> None:
    """The server reads the request and closes without answering: ResponseFailed."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.transport.abort()

    async with raw_server(hang_up) as url:
        client = GatewayHttpClient(url)
        with pytest.raises(ResponseFailed):
            await client.request("POST", "/", {}, b"x", 5)


async def test_truncated_reply_is_response_failed() -> None:
    """A reply cut short of its Content-Length is ResponseFailed, not a short body."""

    async def truncate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        await writer.drain()

    async with raw_server(truncate) as url:
        client = GatewayHttpClient(url)
        with pytest.raises(ResponseFailed):
            await client.request("GET", "/", {}, b"", 5)


async def test_garbage_reply_is_response_failed() -> None:
    """A reply that is not HTTP is ResponseFailed."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    async with raw_server(garbage) as url:
        client = GatewayHttpClient(url)
        with pytest.raises(ResponseFailed):
            await client.request("GET", "/", {}, b"", 5)


async def test_connection_closed_while_idle_is_not_reused() -> None:
    """A server that closes after each reply: every call still succeeds on a fresh connection."""
    served = 0

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await _read_request(reader)
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(once) as url:
        client = GatewayHttpClient(url)
        for _ in range(3):
            reply = await client.request("GET", "/", {}, b"", 5)
            await asyncio.sleep(0.05)  # the close reaches the idle connection
            assert reply == (200, {"Content-Length": "2"}, b"ok")
        await client.close()
    assert served == 3


async def test_connection_close_reply_is_not_reused() -> None:
    """``Connection: close`` in a reply retires the connection even before the server closes."""
    connections = 0

    async def close_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.3)  # keeps the socket open: only the header says "close"

    async with raw_server(close_header) as url:
        client = GatewayHttpClient(url)
        for _ in range(2):
            assert (await client.request("GET", "/", {}, b"", 5))[0] == 200
        await client.close()
    assert connections == 2


async def test_header_with_line_break_is_refused(server: str) -> None:
    """A header value with CR or LF is refused before anything is sent (no injection)."""
    client = GatewayHttpClient(server)
    with pytest.raises(ValueError, match="line break"):
        await client.request("GET", "/echo", {"X-A": "1\r\nX-B: 2"}, b"", 5)
    await client.close()


@pytest.mark.parametrize("url", ["ftp://h/", "127.0.0.1:80", "http:///x"])
def test_bad_base_url_is_refused(url: str) -> None:
    """Only http(s)://host URLs are gateway URLs."""
    with pytest.raises(ValueError, match="gateway URL"):
        GatewayHttpClient(url)



async def test_connection_not_made_before_the_deadline_is_connect_failed() -> None:
    """A listener whose accept queue is full takes no connection: nothing sent, ConnectFailed."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # fill the accept queue; the kernel then drops new connection requests
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            client = GatewayHttpClient(f"http://127.0.0.1:{port}")
            with pytest.raises(ConnectFailed, match="timed out"):
                await client.request("POST", "/orders", {}, b"x", 0.3)
        finally:
            for filler in fillers:
                filler.close()
