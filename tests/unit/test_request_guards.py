"""Requests refused before they reach a use case: too large, or a body that stops arriving."""

import asyncio
from collections.abc import AsyncIterator

import httpx
from dependency_injector import providers
from starlette.types import Message

from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings

PROBLEM = "application/problem+json"


async def test_a_body_over_the_limit_is_a_413_problem_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"key": "big", "value": "' + b"v" * 2_000_000 + b'"}'

    response = await client.post(
        "/todos", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert (await client.get("/todos/big")).status_code == 404


async def test_a_body_that_stops_arriving_gets_a_408_and_the_connection_closed() -> None:
    container = Container()
    settings = Settings(storage="memory", body_timeout_seconds=0.2)
    container.settings.override(providers.Object(settings))
    app = create_app(container)
    chunks: list[Message] = [
        {"type": "http.request", "body": b'{"key": "slow", ', "more_body": True}
    ]
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
        "path": "/todos",
        "raw_path": b"/todos",
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
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"key": "streamed", "value": "'
        for _ in range(40):
            yield b"v" * 50_000
        yield b'"}'

    response = await client.post(
        "/todos", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert (await client.get("/todos/streamed")).status_code == 404
