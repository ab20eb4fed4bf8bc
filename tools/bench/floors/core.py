"""FastAPI + SQLAlchemy Core on dqlite+aio, with the app's engine: a GET is one text() SELECT
in `engine.connect()`, a POST one INSERT in `engine.begin()`."""

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from adapters.dqlite.engine import create_dqlite_engine, dqlite_url
from entrypoints.api.todos import TodoOut
from tools.bench.floors import serving
from tools.bench.floors.serving import OWNER, SEED, SEED_KEYS, serve, todo_out, todos_schema

DATABASE = "floor_core"
POOL_SIZE = 10  # the app's default APP_DB_POOL_SIZE, with as many overflow connections
SELECT = text(serving.SELECT.replace("?", ":owner", 1).replace("?", ":key"))
INSERT = text(serving.INSERT.replace("?", ":key", 1).replace("?", ":value"))


class CoreTodos:
    def __init__(self, node: str) -> None:
        self._engine = create_dqlite_engine(
            dqlite_url(node, DATABASE), pool_size=POOL_SIZE, max_overflow=POOL_SIZE
        )

    async def start(self) -> None:
        async with self._engine.begin() as connection:
            for statement in todos_schema():
                await connection.exec_driver_sql(statement)
            await connection.exec_driver_sql(SEED, tuple(SEED_KEYS))

    async def stop(self) -> None:
        await self._engine.dispose()

    async def get(self, key: str) -> TodoOut | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(SELECT, {"owner": OWNER, "key": key})).first()
        return None if row is None else todo_out(key, row.value, bool(row.done))

    async def add(self, key: str, value: str) -> TodoOut | None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(INSERT, {"key": key, "value": value})
        except IntegrityError:
            return None
        return todo_out(key, value)


if __name__ == "__main__":
    serve(CoreTodos, __doc__)
