"""Units of work: a SQLAlchemy session on dqlite, and an in-memory twin."""

from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.memory import InMemoryTable
from adapters.todos import InMemoryTodoRepository, SqlAlchemyTodoRepository
from domain.todos import Todo
from service.unit_of_work import AbstractUnitOfWork


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """One AsyncSession, hence one dqlite transaction, per `async with`."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __aenter__(self) -> Self:
        self._session = self._session_factory()
        if self.reading_only:  # a deferred BEGIN and PRAGMA query_only, instead of IMMEDIATE
            await self._session.connection(execution_options={"dqlite_session_mode": "read_only"})
        self.todos = SqlAlchemyTodoRepository(self._session)
        return await super().__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, traceback)
        finally:
            await self._session.close()

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()


@dataclass
class InMemoryStore:
    """What the in-memory units of work have committed, one dict per aggregate."""

    todos: dict[str, Todo] = field(default_factory=dict)


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Changes stay private to this unit of work until commit applies them to the store."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def __aenter__(self) -> Self:
        self._todos = InMemoryTable(self._store.todos, read_only=self.reading_only)
        self.todos = InMemoryTodoRepository(self._todos)
        return await super().__aenter__()

    async def commit(self) -> None:
        self._todos.commit()

    async def rollback(self) -> None:
        self._todos.rollback()
