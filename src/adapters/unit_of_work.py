"""Units of work: a SQLAlchemy session on dqlite, and an in-memory twin."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import NoReturn, Self

from sqlalchemy.exc import DBAPIError, IntegrityError
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
from service.unit_of_work import (
    AbstractUnitOfWork,
    OutcomeUnknown,
    RetryPolicy,
    StoreUnavailable,
)

SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_IOERR, SQLITE_CONSTRAINT = 5, 6, 7, 10, 19


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """One AsyncSession, hence one dqlite transaction, per `async with`.

    The driver's errors that a use case can act on leave as StoreUnavailable (nothing was
    written: dqlite replicates a transaction only at COMMIT) or, for a COMMIT whose answer
    was lost, OutcomeUnknown; `on_failure` (e.g. looking for the new leader) runs first.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        retry_policy: RetryPolicy | None = None,
        on_failure: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__(retry_policy)
        self._session_factory = session_factory
        self._on_failure = on_failure

    async def __aenter__(self) -> Self:
        self._session = session = self._session_factory()
        try:
            if self.reading_only:  # a deferred BEGIN and PRAGMA query_only, not IMMEDIATE
                await session.connection(execution_options={"dqlite_session_mode": "read_only"})
        except Exception as error:  # the session-mode switch raises the driver's own errors
            await session.close()
            await self._reraise(error, during_commit=False)
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
        except DBAPIError as rollback_error:
            if exc is None:  # otherwise the error that made us roll back is the one to report
                await self._reraise(rollback_error, during_commit=False)
        finally:
            await self._session.close()
        if isinstance(exc, DBAPIError):
            await self._reraise(exc, during_commit=False)

    async def commit(self) -> None:
        try:
            await self._session.commit()
        except DBAPIError as error:
            await self._reraise(error, during_commit=True)

    async def rollback(self) -> None:
        await self._session.rollback()

    async def _reraise(self, error: Exception, *, during_commit: bool) -> NoReturn:
        translated = classify(error, during_commit=during_commit)
        if translated is None:
            raise error
        if self._on_failure is not None:
            await self._on_failure()
        raise translated from error


def classify(error: Exception, *, during_commit: bool) -> Exception | None:
    """The service-layer exception for a driver error, or None when the service cannot act.

    At COMMIT, anything but a refusal that provably wrote nothing (busy, a constraint) leaves
    the outcome unknown, as canonical/jepsen.dqlite classifies it. Before COMMIT nothing was
    replicated, so lost connections and leadership or I/O errors are clean failures.
    """
    driver_error = error.orig if isinstance(error, DBAPIError) else error
    code = getattr(driver_error, "code", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreUnavailable(str(driver_error))
    if during_commit:
        if isinstance(error, IntegrityError) or primary == SQLITE_CONSTRAINT:
            return None
        return OutcomeUnknown(str(driver_error))
    # The dialect flags lost connections, lost leadership and "no leader" as disconnects;
    # NOMEM and IOERR (which includes "not leader") come back while leadership moves.
    lost = isinstance(error, DBAPIError) and error.connection_invalidated
    if lost or primary in (SQLITE_NOMEM, SQLITE_IOERR):
        return StoreUnavailable(str(driver_error))
    return None


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

    def __init__(self, store: InMemoryStore, retry_policy: RetryPolicy | None = None) -> None:
        super().__init__(retry_policy)
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
