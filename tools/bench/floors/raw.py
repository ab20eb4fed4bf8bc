"""FastAPI + the raw wire client on one connection: a GET is one SELECT, a POST is BEGIN
IMMEDIATE, INSERT, COMMIT."""

import asyncio

from dqliteclient import DqliteConnection, connect
from dqliteclient.exceptions import OperationalError

from adapters.dqlite.dialing import plain_dial
from entrypoints.api.todos import TodoOut
from tools.bench.floors.serving import (
    INSERT,
    OWNER,
    SEED,
    SEED_KEYS,
    SELECT,
    serve,
    todo_out,
    todos_schema,
)

DATABASE = "floor_raw"
SQLITE_CONSTRAINT = 19


class RawTodos:
    def __init__(self, node: str) -> None:
        self._node = node
        self._lock = asyncio.Lock()  # the one connection carries one request at a time
        self._connection: DqliteConnection | None = None

    async def start(self) -> None:
        self._connection = await connect(self._node, database=DATABASE, dial_func=plain_dial)
        for statement in todos_schema():
            await self._connection.execute(statement)
        await self._connection.execute(SEED, SEED_KEYS)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    @property
    def connection(self) -> DqliteConnection:
        assert self._connection is not None, "the floor has not started"
        return self._connection

    async def get(self, key: str) -> TodoOut | None:
        async with self._lock:
            row = await self.connection.fetchone(SELECT, [OWNER, key])
        return None if row is None else todo_out(key, row["value"], bool(row["done"]))

    async def add(self, key: str, value: str) -> TodoOut | None:
        async with self._lock:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                await self.connection.execute(INSERT, [key, value])
            except OperationalError as error:
                await self.connection.execute("ROLLBACK")
                if error.code & 0xFF == SQLITE_CONSTRAINT:
                    return None
                raise
            await self.connection.execute("COMMIT")
        return todo_out(key, value)


if __name__ == "__main__":
    serve(RawTodos, __doc__)
