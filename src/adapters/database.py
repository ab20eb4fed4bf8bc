"""Where the data lives while the app runs: an embedded dqlite node, or process memory."""

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from adapters.dqlite_node import DqliteNode
from adapters.migrations import upgrade_to_head
from adapters.unit_of_work import InMemoryStore, InMemoryUnitOfWork, SqlAlchemyUnitOfWork
from service.unit_of_work import AbstractUnitOfWork

logger = logging.getLogger(__name__)


MAX_BOUND_PARAMETERS = 255


class TooManyParameters(RuntimeError):
    """A statement binds more parameters than libdqlite 1.11 reads correctly."""


def _refuse_too_many_parameters(
    connection: object,
    cursor: object,
    statement: str,
    parameters: Any,
    context: object,
    executemany: bool,
) -> None:
    # libdqlite 1.11.1 misreads the parameter count of a statement with more than 255: the
    # statement then matches nothing, or fails with "not an error". Refuse it loudly instead.
    for row in parameters if executemany else [parameters]:
        if row is not None and len(row) > MAX_BOUND_PARAMETERS:
            raise TooManyParameters(
                f"{len(row)} bound parameters; dqlite reads at most {MAX_BOUND_PARAMETERS} "
                "correctly (pass long lists as one JSON parameter, with json_each)"
            )


def create_dqlite_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine on dqlite that refuses statements the engine would misread."""
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_too_many_parameters)
    return engine


def dqlite_url(address: str, database: str, *, driver: str = "aio") -> str:
    scheme = f"dqlite+{driver}" if driver else "dqlite"
    return f"{scheme}://{address}/{database}"


async def wait_until_serving(engine: AsyncEngine, within_seconds: float) -> None:
    """Return once a statement runs on the cluster's leader, or raise TimeoutError."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except (DBAPIError, OSError) as error:
            if time.monotonic() >= deadline:
                message = f"dqlite was not serving after {within_seconds:.1f}s: {error}"
                raise TimeoutError(message) from error
            await asyncio.sleep(0.1)


class DqliteDatabase:
    """An embedded node (optional), the async engine on it, and the schema at head."""

    def __init__(
        self,
        *,
        address: str,
        database: str,
        node: DqliteNode | None,
        pool_size: int,
        startup_timeout: float,
        migrate: bool,
    ) -> None:
        self._node = node
        self._sync_url = dqlite_url(address, database, driver="")
        self._startup_timeout = startup_timeout
        self._migrate = migrate
        self.engine = create_dqlite_engine(
            dqlite_url(address, database), pool_size=pool_size, max_overflow=pool_size
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def start(self) -> None:
        if self._node is not None:
            await asyncio.to_thread(self._node.start)
            logger.info("dqlite node %s serving %s", self._node.node_id, self._node.address)
        await wait_until_serving(self.engine, self._startup_timeout)
        if self._migrate:
            await asyncio.to_thread(upgrade_to_head, self._sync_url)

    async def stop(self) -> None:
        await self.engine.dispose()
        if self._node is not None:
            await asyncio.to_thread(self._node.stop)
            logger.info("dqlite node %s stopped", self._node.node_id)

    def unit_of_work(self) -> AbstractUnitOfWork:
        return SqlAlchemyUnitOfWork(self._sessions)


class InMemoryDatabase:
    """Keeps everything in this process: for unit tests and trying the API without dqlite."""

    def __init__(self) -> None:
        self.store = InMemoryStore()

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def unit_of_work(self) -> AbstractUnitOfWork:
        return InMemoryUnitOfWork(self.store)
