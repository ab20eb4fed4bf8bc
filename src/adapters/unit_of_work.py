"""Units of work: a SQLAlchemy session on dqlite, and an in-memory twin."""

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.accounts import InMemoryAccountRepository, SqlAlchemyAccountRepository
from adapters.memory import InMemoryIdTable, InMemoryTable
from adapters.posts import InMemoryPostRepository, SqlAlchemyPostRepository
from adapters.todos import InMemoryTodoRepository, SqlAlchemyTodoRepository
from adapters.transfers import InMemoryTransferRepository, SqlAlchemyTransferRepository
from adapters.users import InMemoryUserRepository, SqlAlchemyUserRepository
from domain.accounts import Account
from domain.posts import Post
from domain.todos import Todo
from domain.transfers import Transfer
from domain.users import User
from service.unit_of_work import AbstractUnitOfWork, OutcomeUnknown, StoreUnavailable

SQLITE_BUSY, SQLITE_LOCKED = 5, 6


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """One AsyncSession, hence one dqlite transaction, per `async with`."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __aenter__(self) -> Self:
        self._session = session = self._session_factory()
        if self.reading_only:  # a deferred BEGIN and PRAGMA query_only, instead of IMMEDIATE
            await session.connection(execution_options={"dqlite_session_mode": "read_only"})
        self.todos = SqlAlchemyTodoRepository(session)
        self.users = SqlAlchemyUserRepository(session)
        self.posts = SqlAlchemyPostRepository(session)
        self.accounts = SqlAlchemyAccountRepository(session)
        self.transfers = SqlAlchemyTransferRepository(session)
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
        if isinstance(exc, DBAPIError):
            _raise_as_unit_of_work_error(exc)

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()


def _raise_as_unit_of_work_error(error: DBAPIError) -> None:
    """Turn the driver's errors that the service can act on into its own exceptions."""
    kinds = {kind.__name__ for kind in type(error.orig).__mro__}
    if "AmbiguousCommitError" in kinds:
        raise OutcomeUnknown(str(error.orig)) from error
    code = getattr(error.orig, "code", None)
    if isinstance(code, int) and code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED):
        raise StoreUnavailable(str(error.orig)) from error


@dataclass
class InMemoryStore:
    """What the in-memory units of work have committed, one dict per aggregate."""

    todos: dict[str, Todo] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    posts: dict[int, Post] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    transfers: dict[int, Transfer] = field(default_factory=dict)
    # One writer at a time, as dqlite has: read-modify-write use cases cannot interleave.
    writer: asyncio.Lock = field(default_factory=asyncio.Lock)


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Changes stay private to this unit of work until commit applies them to the store."""

    lock_wait_seconds = 5.0  # as long as dqlite's busy timeout

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._holds_writer = False

    async def __aenter__(self) -> Self:
        if not self.reading_only:
            await self._take_writer_lock()
        store, read_only = self._store, self.reading_only
        tables = (
            todos := InMemoryTable(store.todos, read_only=read_only),
            users := InMemoryIdTable(store.users, read_only=read_only),
            posts := InMemoryIdTable(store.posts, read_only=read_only),
            accounts := InMemoryIdTable(store.accounts, read_only=read_only),
            transfers := InMemoryIdTable(store.transfers, read_only=read_only),
        )
        self._tables: tuple[InMemoryTable[object, object], ...] = tables  # type: ignore[assignment]
        self.todos = InMemoryTodoRepository(todos)
        self.users = InMemoryUserRepository(users)
        self.posts = InMemoryPostRepository(posts)
        self.accounts = InMemoryAccountRepository(accounts)
        self.transfers = InMemoryTransferRepository(transfers)
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
            if self._holds_writer:
                self._holds_writer = False
                self._store.writer.release()

    async def commit(self) -> None:
        for table in self._tables:
            table.commit()

    async def rollback(self) -> None:
        for table in self._tables:
            table.rollback()

    async def _take_writer_lock(self) -> None:
        try:
            async with asyncio.timeout(self.lock_wait_seconds):
                await self._store.writer.acquire()
        except TimeoutError:
            raise StoreUnavailable("another unit of work holds the store's write lock") from None
        self._holds_writer = True
