"""Every implementation of the unit of work, each able to open a fresh, empty store."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from adapters.dqlite.node import DqliteNode
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from adapters.memory.store import InMemoryStore, InMemoryUnitOfWork
from service.unit_of_work import UnitOfWorkFactory
from tests.dqlite import fresh_database


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[], AbstractAsyncContextManager[UnitOfWorkFactory]]


def memory_backend() -> Backend:
    @asynccontextmanager
    async def open_store() -> AsyncIterator[UnitOfWorkFactory]:
        store = InMemoryStore()
        yield lambda: InMemoryUnitOfWork(store)

    return Backend("memory", open_store)


def dqlite_backend(node: DqliteNode) -> Backend:
    @asynccontextmanager
    async def open_database() -> AsyncIterator[UnitOfWorkFactory]:
        async with fresh_database(node) as engine:
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            yield lambda: SqlAlchemyUnitOfWork(sessions)

    return Backend("dqlite", open_database)
