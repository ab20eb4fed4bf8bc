"""The unit of work on dqlite: one SQLAlchemy session, hence one transaction, per `async with`."""

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import NoReturn, Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.dqlite.errors import classify
from adapters.repositories import REPOSITORIES, Registration
from service.unit_of_work import AbstractUnitOfWork, RetryCounters, RetrySettings


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """The driver's errors that a use case can act on leave as StoreUnavailable (nothing was
    written: dqlite replicates a transaction only at COMMIT) or, for a COMMIT whose answer
    was lost, OutcomeUnknown; `on_failure` (e.g. looking for the new leader) runs first.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        on_failure: Callable[[], Awaitable[object]] | None = None,
        *,
        registrations: Sequence[Registration] = REPOSITORIES,
    ) -> None:
        super().__init__(retry_settings, retry_counters)
        self._session_factory = session_factory
        self._registrations = registrations
        self._on_failure = on_failure

    async def __aenter__(self) -> Self:
        self._session = session = self._session_factory()
        try:
            if self.reading_only:  # a deferred BEGIN and PRAGMA query_only, not IMMEDIATE
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
