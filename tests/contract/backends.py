"""Every implementation of the stores, each able to open fresh, empty databases: one per
bounded context, as the app has."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from adapters.contexts import CONTEXTS, Context
from adapters.dqlite.node import DqliteNode
from adapters.memory.store import InMemoryStore
from service.unit_of_work import UnitsOfWork
from tests.dqlite import fresh_store

type Opener = Callable[[Sequence[Context]], AbstractAsyncContextManager[UnitsOfWork]]


@dataclass(frozen=True)
class Backend:
    name: str
    opener: Opener

    def open(
        self, contexts: Sequence[Context] = CONTEXTS
    ) -> AbstractAsyncContextManager[UnitsOfWork]:
        """A fresh store of `contexts` (the app's unless told), each with an empty database."""
        return self.opener(contexts)


def memory_backend() -> Backend:
    @asynccontextmanager
    async def open_store(contexts: Sequence[Context]) -> AsyncIterator[UnitsOfWork]:
        yield InMemoryStore(contexts=contexts).unit_of_work

    return Backend("memory", open_store)


def dqlite_backend(node: DqliteNode) -> Backend:
    """The store the app uses (its writers' queues, its read-only pools), on fresh databases."""

    @asynccontextmanager
    async def open_databases(contexts: Sequence[Context]) -> AsyncIterator[UnitsOfWork]:
        async with fresh_store(node, contexts=contexts) as store:
            yield store.unit_of_work

    return Backend("dqlite", open_databases)
