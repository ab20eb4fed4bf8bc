"""Requests refused before they reach a use case: too large, or a body that stops arriving;
and what the app sees of a connection that lingers after such a refusal."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from dependency_injector import providers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.server import ServerState

from entrypoints import http_protocol
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.unit import probe_routes

PROBLEM = "application/problem+json"


async def test_a_body_over_the_limit_is_a_413_problem_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    before = list(probe_routes.received)
    body = b'{"text": "' + b"v" * 2_000_000 + b'"}'

    response = await client.post(
        "/probe/echo", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert probe_routes.received == before


async def test_a_body_that_stops_arriving_gets_a_408_and_the_connection_closed() -> None:
    container = Container()
    settings = Settings(storage="memory", body_timeout_seconds=0.2)
    container.settings.override(providers.Object(settings))
    app = create_app(container)
    app.include_router(probe_routes.router)
    chunks: list[Message] = [{"type": "http.request", "body": b'{"text": "sl', "more_body": True}]
    sent: list[Message] = []

    async def receive() -> Message:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)  # the client never sends the rest
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/probe/echo",
        "raw_path": b"/probe/echo",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    async with asyncio.timeout(5):
        await app(scope, receive, send)

    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = dict(start["headers"])
    assert start["status"] == 408
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == PROBLEM.encode()


async def test_a_body_without_a_length_that_grows_past_the_limit_is_a_413(
    client: httpx.AsyncClient,
) -> None:
    before = list(probe_routes.received)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(40):
            yield b"v" * 50_000
        yield b'"}'

    response = await client.post(
        "/probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert probe_routes.received == before


async def test_a_path_that_is_not_utf8_is_refused_not_read_with_replacement_characters(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/probe/caf%E9")

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert "UTF-8" in response.json()["detail"]
    assert (await client.get("/probe/caf%C3%A9")).json() == {"name": "café"}


async def test_a_path_with_a_control_character_is_refused_not_matched_without_it(
    client: httpx.AsyncClient,
) -> None:
    """Starlette's `$` matches before a final newline: `/probe/ab%0A` would reach `ab`."""
    for path in ("/probe/ab%0A", "/probe/a%0Ab", "/probe/a%09b", "/probe/%C2%85"):
        response = await client.get(path)

        assert response.status_code == 400, path
        assert "control character" in response.json()["detail"]
    assert (await client.get("/probe/ab")).json() == {"name": "ab"}


@asynccontextmanager
async def connected(app: ASGIApp, state: ServerState) -> AsyncIterator[socket.socket]:
    """The client's end of one connection to `app`, served by the service's HTTP protocol
    over a socket pair (no port); closed, and the server's end gone, on the way out."""
    server_end, client_end = socket.socketpair()
    client_end.setblocking(False)
    protocol = http_protocol.with_header_timeout(10)
    config = Config(app=app, loop="asyncio", log_config=None, http=protocol)
    loop = asyncio.get_running_loop()
    await loop.connect_accepted_socket(lambda: protocol(config, state, {}), server_end)
    try:
        yield client_end
    finally:
        client_end.close()
        async with asyncio.timeout(5):
            # Gone once the server reads the client's close; uvicorn has no event for it.
            while state.connections:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


async def read_until_closed(client: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    answer = b""
    async with asyncio.timeout(5):
        while chunk := await loop.sock_recv(client, 65536):
            answer += chunk
    return answer


async def answer_to(app: ASGIApp, sent: bytes) -> bytes:
    """What one connection to `app` answers `sent` until it closes, once the app's tasks have
    ended (raising what they raised)."""
    state = ServerState()
    async with connected(app, state) as client:
        await asyncio.get_running_loop().sock_sendall(client, sent)
        answer = await read_until_closed(client)
        async with asyncio.timeout(5):
            await asyncio.gather(*state.tasks)
    return answer


async def test_requests_pipelined_before_a_malformed_one_go_unanswered_without_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 400 is the last thing the connection sends: what the app answers the requests
    before it is dropped (asyncio would raise on a write after the sending side is shut)."""
    monkeypatch.setattr(http_protocol, "LINGER_SECONDS", 60)
    answered: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        answered.append(scope["path"])

    pipelined = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"

    answer = await answer_to(app, pipelined + b"GET /\x00 HTTP/9\r\n")

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"Invalid HTTP request received.")
    assert answered == ["/a"]  # /b was queued behind /a, and never started


async def test_an_app_reading_a_body_cut_short_by_a_400_is_told_at_once_it_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_protocol, "LINGER_SECONDS", 60)  # not when the lingering ends
    received: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while not received or received[-1]["type"] != "http.disconnect":
            received.append(await receive())

    head = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"

    answer = await answer_to(app, head + b"5\r\nhello\r\nZZ\r\n")

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert received[-1] == {"type": "http.disconnect"}
