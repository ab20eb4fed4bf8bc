"""What every floor shares: the app's todo models on two routes over a store of the floor's
own, served by uvicorn as the app is, and the table the database floors keep."""

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI, HTTPException, Response, status

from entrypoints.api.todos import TodoIn, TodoOut

OWNER = "bench"  # a floor verifies no token: every todo is the one person's
SEEDED_VALUE = "seeded"
SEED_KEYS = [f"seed-{n}" for n in range(1, 201)]  # the keys the bench seeds the app with

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS todos "
    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)"
)
SEED = "INSERT OR IGNORE INTO todos (key, value) VALUES " + ", ".join(
    [f"(?, '{SEEDED_VALUE}')"] * len(SEED_KEYS)
)


class Todos(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def get(self, key: str) -> TodoOut | None: ...

    async def add(self, key: str, value: str) -> TodoOut | None:
        """The new todo, or None if the key is taken."""


def todo_out(key: str, value: str, done: bool = False) -> TodoOut:
    return TodoOut(owner=OWNER, key=key, value=value, done=done)


def floor_app(todos: Todos) -> FastAPI:
    """GET /todos/{key} and POST /todos as the app declares them, with no middleware."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await todos.start()
        try:
            yield
        finally:
            await todos.stop()

    app = FastAPI(lifespan=lifespan)

    @app.post("/todos", status_code=status.HTTP_201_CREATED)
    async def create_todo(body: TodoIn, response: Response) -> TodoOut:
        todo = await todos.add(body.key, body.value)
        if todo is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "that key is taken")
        response.headers["Location"] = f"/todos/{quote(todo.key, safe='')}"
        return todo

    @app.get("/todos/{key:path}")
    async def get_todo(key: str) -> TodoOut:
        todo = await todos.get(key)
        if todo is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such todo")
        return todo

    return app


def serve(make_todos: Callable[[str], Todos], description: str | None) -> None:
    """Parse --port and --node, then serve with uvicorn's options as `python -m entrypoints`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node", required=True, help="the dqlite node's address, host:port")
    args = parser.parse_args()
    uvicorn.run(
        floor_app(make_todos(args.node)),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        loop="asyncio",
        http="httptools",
    )
