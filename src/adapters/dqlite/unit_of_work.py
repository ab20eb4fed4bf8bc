"""The unit of work on dqlite: one connection per `async with`, in a transaction of its own or
in the one this process's queued writers share (in a SAVEPOINT of its own there)."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, NoReturn

from sqlalchemy import Executable, Result, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from adapters.barrier import SqlAlchemyReadBarrier
from adapters.contexts import Registration
from adapters.dqlite.errors import classify
from adapters.dqlite.group_commit import GroupCommit, SharedTransaction
from adapters.dqlite.writers import WriterQueue
from adapters.idempotency import SqlAlchemyStoredAnswers
from adapters.outbox import SqlAlchemyOutbox
from service.errors import StoreFull, StoreUnavailable
from service.outbox import OutboxBell
from service.retry import RetryCounters, RetrySettings
from service.tracing import Tracing
from service.unit_of_work import AbstractUnitOfWork


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """The driver's errors that a use case can act on leave as StoreUnavailable (nothing was
    written: dqlite replicates a transaction only at COMMIT) or, for a COMMIT whose answer
    was lost, OutcomeUnknown; `on_failure` (e.g. looking for the new leader) runs first.

    Read-write units of work given `writers` wait there for their turn; given `group` too,
    they work inside the transaction the queued writers share (see GroupCommit), otherwise
    in their own, keeping the turn to the end. Read-only ones use `read_engine` when given,
    once they hold one of `read_slots` (as many as its pool's connections): those
    are handed out first come first served, where SQLAlchemy's pool gives a returned
    connection to whoever asks next, ahead of those already waiting (at 64 clients, a GET's p50
    was 45 ms and its p99 1.75 s). A read-only one asked to be linearizable first awaits
    `confirm_leadership` (the database's read barrier). While `disk_shortage` says something,
    read-write ones are refused (StoreFull).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        on_failure: Callable[[], Awaitable[object]] | None = None,
        *,
        registrations: Sequence[Registration] = (),
        writers: WriterQueue | None = None,
        group: GroupCommit | None = None,
        read_engine: AsyncEngine | None = None,
        read_slots: asyncio.Semaphore | None = None,
        disk_shortage: Callable[[], str | None] = lambda: None,
        outbox_bell: OutboxBell | None = None,
        confirm_leadership: Callable[[], Awaitable[object]] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        super().__init__(retry_settings, retry_counters, outbox_bell, tracing)
        self._engine = engine
        self._registrations = registrations
        self._writers = writers
        self._group = group
        self._read_engine = read_engine
        self._read_slots = read_slots
        self._holds_read_slot = False
        self._disk_shortage = disk_shortage
        self._holds_turn = False
        self._shared: SharedTransaction | None = None  # the group's transaction, while in it
        self._on_failure = on_failure
        self._confirm_leadership = confirm_leadership

    async def _begin(self) -> None:
        linearizable = self.reading_only and self.reading_consistency == "linearizable"
        if linearizable and self._confirm_leadership is not None:
            await self._confirm_leadership()  # a barrier write, before the first read
        if not self.reading_only:
            if shortage := self._disk_shortage():
                raise StoreFull(shortage)
            self._holds_turn = self._writers is not None and await self._writers.enter()
            connection = await self._writing_connection()
        elif self._read_engine is not None:  # its connections are read-only already
            if self._read_slots is not None:
                await self._read_slots.acquire()
                self._holds_read_slot = True
            connection = LazyConnection(self._read_engine.connect)
            if self.reading_snapshot:  # they begin no transaction unless asked
                await self._begin_reading(connection)
        else:  # a deferred BEGIN and PRAGMA query_only, not IMMEDIATE
            connection = LazyConnection(self._read_only_connection)
            try:
                await connection.connected()
            except Exception as error:  # the session-mode switch raises the driver's own errors
                await self._reraise(error, during_commit=False)
        self._use(connection)

    async def _read_only_connection(self) -> AsyncConnection:
        connection = await self._engine.connect()
        try:
            await connection.execution_options(dqlite_session_mode="read_only")
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _begin_reading(self, connection: "LazyConnection") -> None:
        try:
            await connection.execute(text("BEGIN"))  # deferred, read-only: the connection's mode
        except BaseException as error:  # cancelled too: __aexit__ will not run
            self._give_read_slot_back()
            await connection.close()
            if not isinstance(error, Exception):
                raise
            await self._reraise(error, during_commit=False)

    def _use(self, connection: "LazyConnection") -> None:
        self._connection = connection
        self.outbox = SqlAlchemyOutbox(connection)
        self.answers = SqlAlchemyStoredAnswers(connection)
        self.barrier = SqlAlchemyReadBarrier(connection)
        for registration in self._registrations:
            setattr(self, registration.name, registration.sql(connection))

    async def _writing_connection(self) -> "LazyConnection":
        if not (self._holds_turn and self._group is not None):
            return LazyConnection(self._engine.connect)  # SQLAlchemy then sends BEGIN
        try:
            self._shared, first = await self._group.join()
        except BaseException as error:  # __aexit__ will not run: give the turn up here
            try:
                if isinstance(error, DBAPIError):
                    await self._reraise(error, during_commit=False)
                raise
            finally:
                self._leave_writers()
        self._holds_turn = False  # the group gives the turn up for this unit of work
        return InSharedTransaction(self._shared.connection, first=first)

    async def _end(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._shared is not None and _loses_connection(exc, self._shared):
            await self._shared.connection.invalidate()  # and the shared transaction with it
            await self._group_failed(
                exc if isinstance(exc, Exception) else StoreUnavailable(f"interrupted: {exc!r}")
            )
        try:
            await super()._end(exc_type, exc, traceback)
        except DBAPIError as rollback_error:
            if exc is None:  # otherwise the error that made us roll back is the one to report
                await self._reraise(rollback_error, during_commit=False)
            if self._shared is not None:  # a member that cannot roll back breaks the whole
                await self._group_failed(rollback_error)
        finally:
            try:
                await self._connection.close()
            finally:
                self._give_read_slot_back()
                self._leave_writers()
                await self._leave_group(committed=False)
        if isinstance(exc, DBAPIError):
            await self._reraise(exc, during_commit=False)

    async def commit(self, result: object = None) -> None:
        try:
            await self._store_collected_events()
            await self._store_answer(result)
            await self._connection.commit()  # in the group: its savepoint released, no COMMIT
        except DBAPIError as error:
            await self._reraise(error, during_commit=self._shared is None)
        if (shared := self._shared) is not None:
            await self._leave_group(committed=True)  # returns once the group's COMMIT is done
            self._note_membership(shared)
            # Work after the commit is a new transaction: one of its own, begun if it is used.
            self._use(LazyConnection(self._engine.connect))
        elif self._writers is not None:
            self._writers.committed()
        self._committed()

    async def rollback(self) -> None:
        await self._connection.rollback()

    @property
    def shared_transaction(self) -> SharedTransaction | None:
        """The group's transaction this unit of work is in, until it leaves it."""
        return self._shared

    def _note_membership(self, shared: SharedTransaction) -> None:
        """On this transaction's span: the batch it committed in, and a link to its COMMIT."""
        if self.span is not None:
            self.span.span.set_attribute("db.group_commit.members", shared.members)
            self.span.span.add_link(shared.commit_span)

    def _give_read_slot_back(self) -> None:
        if self._holds_read_slot and self._read_slots is not None:
            self._holds_read_slot = False
            self._read_slots.release()

    def _leave_writers(self) -> None:
        if self._holds_turn and self._writers is not None:
            self._holds_turn = False
            self._writers.leave()

    async def _leave_group(self, *, committed: bool) -> None:
        shared, self._shared = self._shared, None
        if shared is not None and self._group is not None:
            await self._group.leave(shared, committed=committed)

    async def _group_failed(self, error: Exception) -> None:
        shared, self._shared = self._shared, None
        if shared is not None and self._group is not None:
            await self._group.fail(shared, error)

    async def _reraise(self, error: Exception, *, during_commit: bool) -> NoReturn:
        translated = classify(error, during_commit=during_commit)
        if translated is None:
            raise error
        if self._shared is not None:
            await self._group_failed(translated)
        elif self._writers is not None:
            self._writers.database_failed(disk_full=isinstance(translated, StoreFull))
            self._leave_writers()  # the writers behind need not wait for this one's cleanup
        if self._on_failure is not None:
            await self._on_failure()
        raise translated from error


def _loses_connection(error: BaseException | None, shared: SharedTransaction) -> bool:
    """Whether `error` cost the shared transaction its connection: a driver error the service
    acts on, or an interruption (a cancelled statement), after which SQLAlchemy invalidates
    the connection."""
    if isinstance(error, DBAPIError) and classify(error, during_commit=False) is not None:
        return True
    return error is not None and shared.connection.invalidated


class LazyConnection:
    """The connection a unit of work's repositories run their statements on, in a transaction
    of its own: taken by `open` at the first statement (SQLAlchemy then sends BEGIN), so a
    unit of work that runs none costs nothing."""

    def __init__(self, open: Callable[[], Awaitable[AsyncConnection]]) -> None:
        self._open = open
        self._connection: AsyncConnection | None = None

    async def connected(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self._open()
        return self._connection

    async def execute(self, statement: Executable, parameters: Any = None, /) -> Result[Any]:
        connection = self._connection or await self.connected()
        return await connection.execute(statement, parameters)

    async def scalar(self, statement: Executable, parameters: Any = None, /) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def commit(self) -> None:
        if self._connection is not None:
            await self._connection.commit()

    async def rollback(self) -> None:
        if self._connection is not None:
            await self._connection.rollback()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


class InSharedTransaction(LazyConnection):
    """A group member's statements, in the transaction the queued writers share (GroupCommit):
    the first member's directly (nothing else is in it yet, so its rollback rolls back the
    whole), each later one's inside a SAVEPOINT begun at its first statement. Its commit
    sends no COMMIT (the group does), and the connection stays the group's to close."""

    def __init__(self, shared: AsyncConnection, *, first: bool) -> None:
        super().__init__(self._joined)
        self._shared = shared
        self._first = first
        self._savepoint: AsyncTransaction | None = None

    async def _joined(self) -> AsyncConnection:
        if not self._first:
            self._savepoint = await self._shared.begin_nested()
        return self._shared

    async def commit(self) -> None:
        savepoint, self._savepoint = self._savepoint, None
        if savepoint is not None:
            await savepoint.commit()

    async def rollback(self) -> None:
        savepoint, self._savepoint = self._savepoint, None
        if self._shared.closed or self._shared.invalidated:  # the group dropped it already
            return
        if savepoint is not None and savepoint.is_active:
            await savepoint.rollback()
        elif self._first and self._connection is not None:
            await self._shared.rollback()

    async def close(self) -> None:
        self._connection = None
