"""The unit of work on dqlite: one SQLAlchemy session, hence one transaction, per `async with`."""

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import NoReturn, Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.dqlite.errors import classify
from adapters.dqlite.writers import WriterQueue
from adapters.repositories import REPOSITORIES, Registration
from service.unit_of_work import AbstractUnitOfWork, RetryCounters, RetrySettings, StoreFull


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """The driver's errors that a use case can act on leave as StoreUnavailable (nothing was
    written: dqlite replicates a transaction only at COMMIT) or, for a COMMIT whose answer
    was lost, OutcomeUnknown; `on_failure` (e.g. looking for the new leader) runs first.

    Read-write units of work given `writers` wait there for their turn and keep it to the
    end (see WriterQueue); read-only ones use `read_session_factory` when given.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        on_failure: Callable[[], Awaitable[object]] | None = None,
        *,
        registrations: Sequence[Registration] = REPOSITORIES,
        writers: WriterQueue | None = None,
        read_session_factory: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        super().__init__(retry_settings, retry_counters)
        self._session_factory = session_factory
        self._registrations = registrations
        self._writers = writers
        self._read_session_factory = read_session_factory
        self._holds_turn = False
        self._on_failure = on_failure

    async def __aenter__(self) -> Self:
        if not self.reading_only:
            self._holds_turn = self._writers is not None and await self._writers.enter()
            self._session = session = self._session_factory()
        elif self._read_session_factory is not None:  # its connections are read-only already
            self._session = session = self._read_session_factory()
        else:  # a deferred BEGIN and PRAGMA query_only, not IMMEDIATE
            self._session = session = self._session_factory()
            try:
                await session.connection(execution_options={"dqlite_session_mode": "read_only"})
            except Exception as error:  # the session-mode switch raises the driver's own errors
                await session.close()
                await self._reraise(error, during_commit=False)
        for registration in self._registrations:
            setattr(self, registration.name, registration.sql(session))
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
            try:
                await self._session.close()
            finally:
                self._leave_writers()
        if isinstance(exc, DBAPIError):
            await self._reraise(exc, during_commit=False)

    async def commit(self) -> None:
        try:
            await self._session.commit()
        except DBAPIError as error:
            await self._reraise(error, during_commit=True)
        if self._writers is not None:
            self._writers.committed()

    async def rollback(self) -> None:
        await self._session.rollback()

    def _leave_writers(self) -> None:
        if self._holds_turn and self._writers is not None:
            self._holds_turn = False
            self._writers.leave()

    async def _reraise(self, error: Exception, *, during_commit: bool) -> NoReturn:
        translated = classify(error, during_commit=during_commit)
        if translated is None:
            raise error
        if self._writers is not None:
            self._writers.database_failed(disk_full=isinstance(translated, StoreFull))
            self._leave_writers()  # the writers behind need not wait for this one's cleanup
        if self._on_failure is not None:
            await self._on_failure()
        raise translated from error
