"""The simulator's HTTP/1.1 server (``gateway_sim.http``) over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pytest

from gateway_sim.http import (
    MAX_BODY,
    MAX_PIPELINED,
    HTTPFound,
    Request,
    Response,
    Router,
    Server,
    parse_form,
)


@dataclass
class Seen:
    """What the handlers saw and did."""

    finished: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


Req = Request[Seen]


async def slow(request: Req) -> Response:
    await asyncio.sleep(float(request.query.get("s") or "0"))
    request.state.finished.append(request.path)
    return Response(text=request.path, content_type="text/plain")


async def echo(request: Req) -> Response:
    form = await request.post()
    body = {
        "id": request.match_info.get("id", ""),
        "tail": request.match_info.get("tail", ""),
        "form": sorted(form.items()),
        "query": sorted(request.query.items()),
        "auth": request.headers.get("authorization", ""),
        "body": (await request.read()).decode(),
    }
    return Response(text=repr(body), content_type="text/plain")


async def fail(request: Req) -> Response:
    raise RuntimeError("handler bug")


async def redirect(request: Req) -> Response:
    raise HTTPFound("http://example.invalid/next")


async def wait_release(request: Req) -> Response:
    await request.state.release.wait()
    request.state.finished.append("released")
    return Response(text="done")


def router() -> Router[Seen]:
    r: Router[Seen] = Router()
    r.add_get("/slow", slow)
    r.add_get("/fast", slow)
    r.add_post("/echo/{id}", echo)
    r.add_post("/only-post", echo)
    r.add("*", "/any/{tail:.*}", echo)
    r.add_get("/fail", fail)
    r.add_get("/redirect", redirect)
    r.add_get("/wait", wait_release)
    return r


@dataclass
class Running:
    server: Server[Seen]
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
async def srv() -> AsyncIterator[Running]:
    server = Server(router(), Seen())
    port = await server.start("127.0.0.1", 0)
    yield Running(server, port)
    await server.close()


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One reply: status, headers (lower-case names) and the body of Content-Length bytes."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
    return status, headers, body


async def exchange(srv: Running, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await srv.connect()
    writer.write(raw)
    try:
        return await read_reply(reader)
    finally:
        writer.close()


async def test_pipelined_requests_are_answered_in_order(srv: Running) -> None:
    """Two requests sent at once on one connection get their replies in the order sent."""
    reader, writer = await srv.connect()
    writer.write(
        b"GET /slow?s=0.2 HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    first = await read_reply(reader)
    second = await read_reply(reader)
    writer.close()
    assert (first[0], first[2]) == (200, b"/slow")
    assert (second[0], second[2]) == (200, b"/fast")
    assert srv.server.state.finished == ["/slow", "/fast"]


async def test_a_long_pipeline_is_answered_in_full_and_in_order(srv: Running) -> None:
    """Far more pipelined requests than are read ahead: reading pauses and resumes, none lost."""
    n = MAX_PIPELINED * 4
    reader, writer = await srv.connect()
    writer.write(b"".join(b"GET /fast?i=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(n)))
    replies = [await read_reply(reader) for _ in range(n)]
    writer.close()
    assert [status for status, _, _ in replies] == [200] * n
    assert srv.server.state.finished == ["/fast"] * n


async def test_keep_alive_serves_many_requests_on_one_connection(srv: Running) -> None:
    """A keep-alive connection stays open across requests, each answered with its own body."""
    reader, writer = await srv.connect()
    for i in range(5):
        body = f"n={i}".encode()
        writer.write(
            b"POST /echo/" + str(i).encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        status, headers, reply = await read_reply(reader)
        assert status == 200
        assert "connection" not in headers
        assert f"'id': '{i}'" in reply.decode()
        assert f"('n', '{i}')" in reply.decode()
    writer.close()


async def test_path_query_form_and_headers_are_decoded(srv: Running) -> None:
    """Percent-escapes in path, query and form are decoded; header names match any case."""
    body = b"a=1&b=x+y&c=%C3%A9&empty="
    status, _, reply = await exchange(
        srv,
        b"POST /echo/or%64er_1?q=a%20b&q=2 HTTP/1.1\r\nHost: x\r\n"
        b"AUTHORIZATION: Basic abc\r\n"
        b"Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )
    assert status == 200
    seen = eval(reply.decode())
    assert seen["id"] == "order_1"
    assert seen["query"] == [("q", "2"), ("q", "a b")]
    assert seen["form"] == [("a", "1"), ("b", "x y"), ("c", "é"), ("empty", "")]
    assert seen["auth"] == "Basic abc"


async def test_form_of_another_content_type_is_empty(srv: Running) -> None:
    """A JSON body gives no form fields (as aiohttp), but the raw body is there."""
    body = b'{"a": 1}'
    status, _, reply = await exchange(
        srv,
        b"POST /echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )
    seen = eval(reply.decode())
    assert (status, seen["form"], seen["body"]) == (200, [], '{"a": 1}')


async def test_chunked_body_is_joined(srv: Running) -> None:
    """A chunked request body reaches the handler whole."""
    status, _, reply = await exchange(
        srv,
        b"POST /echo/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        b"3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n",
    )
    assert status == 200
    assert "('a', '1'), ('b', '2')" in reply.decode()


async def test_expect_continue_gets_an_interim_reply(srv: Running) -> None:
    """``Expect: 100-continue`` is answered 100 before the client sends the body."""
    reader, writer = await srv.connect()
    writer.write(
        b"POST /echo/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\n"
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(b"a=1")
    status, _, reply = await read_reply(reader)
    writer.close()
    assert status == 200
    assert "('a', '1')" in reply.decode()


async def test_head_on_a_get_route_sends_headers_only(srv: Running) -> None:
    """HEAD is served by the GET route: same Content-Length, no body on the wire."""
    reader, writer = await srv.connect()
    writer.write(b"HEAD /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Length: 5" in head
    # the next bytes are the GET's reply, not a body of the HEAD
    status, _, body = await read_reply(reader)
    writer.close()
    assert (status, body) == (200, b"/fast")


async def test_unknown_path_is_404_and_wrong_method_is_405(srv: Running) -> None:
    """No route: 404; a route without the method: 405 naming the allowed ones."""
    status, _, _ = await exchange(srv, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 404
    status, headers, _ = await exchange(srv, b"GET /only-post HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, headers["allow"]) == (405, "POST")
    status, headers, _ = await exchange(srv, b"DELETE /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, headers["allow"]) == (405, "GET,HEAD")


async def test_fixed_route_without_the_method_falls_through_to_a_pattern() -> None:
    """As aiohttp: a fixed path lacking the method goes on to a matching pattern route."""
    r: Router[None] = Router()

    async def fixed(request: Request[None]) -> Response:
        return Response(text="fixed")

    async def catch_all(request: Request[None]) -> Response:
        return Response(text="catch-all")

    r.add_post("/order/initiate", fixed)
    r.add("*", "/order/{tail:.*}", catch_all)
    found = r.resolve("GET", "/order/initiate")
    assert not isinstance(found, Response)
    assert found == (catch_all, {"tail": "initiate"})
    post = r.resolve("POST", "/order/initiate")
    assert not isinstance(post, Response)
    assert post[0] is fixed


def test_a_route_added_twice_is_refused() -> None:
    """Adding the same method and path twice is an error, not a silent override."""
    r: Router[None] = Router()

    async def h(request: Request[None]) -> Response:
        return Response()

    r.add_get("/a/{x}", h)
    with pytest.raises(ValueError, match="added twice"):
        r.add_get("/a/{x}", h)


async def test_failing_handler_is_a_500_and_the_connection_serves_on(srv: Running) -> None:
    """A handler that raises answers 500; the next request on the connection is served."""
    reader, writer = await srv.connect()
    writer.write(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, _ = await read_reply(reader)
    writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    again, _, body = await read_reply(reader)
    writer.close()
    assert (status, again, body) == (500, 200, b"/fast")


async def test_raised_reply_is_sent(srv: Running) -> None:
    """A handler raising ``HTTPFound`` sends a 302 with its Location."""
    status, headers, _ = await exchange(srv, b"GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, headers["location"]) == (302, "http://example.invalid/next")


async def test_connection_close_is_honoured(srv: Running) -> None:
    """``Connection: close`` gets ``Connection: close`` back, then the server closes."""
    reader, writer = await srv.connect()
    writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, _ = await read_reply(reader)
    assert (status, headers.get("connection")) == (200, "close")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_oversized_body_is_413_and_closed(srv: Running) -> None:
    """A body over MAX_BODY is refused with 413 and the connection is closed."""
    reader, writer = await srv.connect()
    size = MAX_BODY + 1
    writer.write(
        b"POST /echo/1 HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n"
    )
    writer.write(b"x" * size)
    status, headers, _ = await read_reply(reader)
    assert (status, headers.get("connection")) == (413, "close")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_garbage_is_400_and_closed(srv: Running) -> None:
    """Bytes that are not HTTP get a 400 and a closed connection."""
    reader, writer = await srv.connect()
    writer.write(b"\x00\x01 not http\r\n\r\n")
    status, _, _ = await read_reply(reader)
    assert status == 400
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_handler_finishes_when_the_client_leaves(srv: Running) -> None:
    """A client that disconnects mid-call does not cancel the handler (a gateway still acts)."""
    _reader, writer = await srv.connect()
    writer.write(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(0.05)
    writer.close()
    await asyncio.sleep(0.05)
    srv.server.state.release.set()
    for _ in range(100):
        if srv.server.state.finished:
            break
        await asyncio.sleep(0.01)
    assert srv.server.state.finished == ["released"]


async def test_close_drops_idle_connections() -> None:
    """``Server.close`` stops listening and closes the connections it holds."""
    server = Server(router(), Seen())
    port = await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await read_reply(reader))[0] == 200
    await server.close()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


def test_parse_form_reads_as_parse_qsl() -> None:
    """``parse_form`` gives what ``parse_qsl(keep_blank_values=True)`` gives, on random texts."""
    rng = random.Random(5)
    alphabet = "ab=&%+2 0F;é"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert parse_form(text) == parse_qsl(text, keep_blank_values=True), text
