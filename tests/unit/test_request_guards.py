"""Requests refused before they reach a use case: too large, or a body that stops arriving."""

import asyncio
from collections.abc import AsyncIterator

import httpx
from dependency_injector import providers
from starlette.types import Message

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
