"""Every implementation of the unit of work, each able to open a fresh, empty store."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from adapters.dqlite.node import DqliteNode
from adapters.memory.store import InMemoryStore, InMemoryUnitOfWork
from service.unit_of_work import UnitOfWorkFactory
from tests.dqlite import fresh_database, store_on


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
    """The store the app uses (its writers' queue, its read-only pool), on a fresh database."""

    @asynccontextmanager
    async def open_database() -> AsyncIterator[UnitOfWorkFactory]:
        async with fresh_database(node) as engine, store_on(node, engine) as store:
            yield store.unit_of_work

    return Backend("dqlite", open_database)
