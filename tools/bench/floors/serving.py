"""What every floor shares: the app's todo models on two routes over a store of the floor's
own, served by uvicorn as the app is, and the table the database floors keep: the app's own
todos table, its indexes and trigram search index too, so that a floor's read or write costs
the node what the app's does (the search index triples the pages a write changes)."""

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, cast
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI, HTTPException, Response, status
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from adapters.search import create_statements, declared_columns
from adapters.todos import TodoRow
from entrypoints.api.todos import TodoIn, TodoOut

OWNER = "bench"  # a floor verifies no token: every todo is the one person's
SEEDED_VALUE = "seeded"
SEED_KEYS = [f"seed-{n}" for n in range(1, 201)]  # the keys the bench seeds the app with

SEED = "INSERT INTO todos (owner, key, value, done) VALUES " + ", ".join(
    [f"('{OWNER}', ?, '{SEEDED_VALUE}', 0)"] * len(SEED_KEYS)
)
SELECT = "SELECT value, done FROM todos WHERE owner = ? AND key = ?"
INSERT = f"INSERT INTO todos (owner, key, value, done) VALUES ('{OWNER}', ?, ?, 0)"


def todos_schema() -> list[str]:
    """The statements that make the app's todos table in a floor's new database."""
    table, dialect = cast(Table, TodoRow.__table__), sqlite.dialect()
    made = [str(CreateTable(table).compile(dialect=dialect))]
    made += [str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes]
    return made + create_statements(table.name, declared_columns(table))


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
