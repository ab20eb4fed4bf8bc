"""Where a request's time goes, in this process with no network: each ASGI app is called
directly, so what is left is the Python each layer runs (wrk's figures add uvicorn and the
kernel's loopback, the same for every app)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from dependency_injector import providers

from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from tools.bench.client import BENCH_EMAIL, BENCH_PASSWORD
from tools.bench.floors.bare import DictTodos
from tools.bench.floors.serving import SEED_KEYS, floor_app

type Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
REQUESTS = 2_000
ROUNDS = 5


async def microseconds_per_request(
    app: Asgi, path: str, headers: dict[str, str], requests: int = REQUESTS, rounds: int = ROUNDS
) -> float:
    """The best of `rounds` rounds of `requests` GETs of `path`, each answered 200."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"bench")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 40000),
        "root_path": "",
    }
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    if statuses != {200}:
        raise RuntimeError(f"GET {path} answered {sorted(statuses)}")
    return best


async def _layers(requests: int, rounds: int) -> dict[str, float]:
    found = {}
    floor = floor_app(DictTodos(""))
    async with floor.router.lifespan_context(floor):
        found["bare FastAPI: the todo route alone"] = await microseconds_per_request(
            floor, f"/todos/{SEED_KEYS[0]}", {}, requests, rounds
        )
    container = Container()
    container.settings.override(providers.Object(Settings(storage="memory")))
    app = create_app(container)
    async with app.router.lifespan_context(app):
        bearer = await _signed_in_with_a_todo(app)
        paths = {
            "the app, GET /health: its middleware and routing": ("/health", {}),
            "the app, GET /auth/me: + the token's principal": ("/auth/me", bearer),
            "the app, GET /todos/{key}: + unit of work, use case, store": ("/todos/k", bearer),
        }
        for name, (path, headers) in paths.items():
            found[name] = await microseconds_per_request(app, path, headers, requests, rounds)
    return found


async def _signed_in_with_a_todo(app: Any) -> dict[str, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        person = {"email": BENCH_EMAIL, "password": BENCH_PASSWORD}
        (await client.post("/auth/register", json=person)).raise_for_status()
        form = {"username": BENCH_EMAIL, "password": BENCH_PASSWORD}
        answer = await client.post("/auth/token", data=form)
        bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        todo = {"key": "k", "value": "v"}
        (await client.post("/todos", json=todo, headers=bearer)).raise_for_status()
    return bearer


def layer_microseconds(requests: int = REQUESTS, rounds: int = ROUNDS) -> dict[str, float]:
    """Microseconds per GET of each layer's app, in this process, on the in-memory store."""
    return asyncio.run(_layers(requests, rounds))
