"""The in-memory store and its unit of work: what dqlite does, kept in this process."""

import asyncio
from collections.abc import Hashable, Sequence
from types import TracebackType
from typing import Any

from adapters.contexts import CONTEXTS, Context
from adapters.idempotency import InMemoryStoredAnswers
from adapters.memory.table import InMemoryTable
from adapters.outbox import InMemoryOutbox
from service.errors import StoreUnavailable
from service.operations import Readiness, StoreStatus
from service.outbox import OutboxBell
from service.retry import RetryCounters, RetrySettings
from service.tracing import Tracing
from service.unit_of_work import AbstractUnitOfWork


class InMemoryDatabase:
    """One context's committed rows, a dict per repository and the outbox's, and its single
    writer's lock."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.tables: dict[str, dict[Hashable, Any]] = {r.name: {} for r in context.registrations}
        self.outbox_events: dict[int, Any] = {}
        self.outbox_lease: dict[int, Any] = {}
        self.answers: dict[tuple[str, str], Any] = {}
        # One writer at a time, as dqlite has: read-modify-write use cases cannot interleave.
        self.writer = asyncio.Lock()
        self.outbox_bell = OutboxBell()


class InMemoryStore:
    """A database per context, as on dqlite: contexts do not wait on each other's writes."""

    def __init__(
        self,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        *,
        contexts: Sequence[Context] = CONTEXTS,
        tracing: Tracing | None = None,
    ) -> None:
        self.databases = {c.unit_of_work: InMemoryDatabase(c) for c in contexts}
        self.retry_settings = retry_settings
        self.retry_counters = retry_counters or RetryCounters()
        self.tracing = tracing or Tracing()

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def unit_of_work[U: AbstractUnitOfWork](self, context: type[U], /) -> U:
        database = self.databases[context]
        uow = database.context.implemented_by(InMemoryUnitOfWork)(self, database)
        assert isinstance(uow, context)
        return uow

    def outbox_bell(self, context: type[AbstractUnitOfWork], /) -> OutboxBell:
        return self.databases[context].outbox_bell

    async def readiness(self) -> Readiness:
        return Readiness(
            True, {f"{d.context.name} database": "ok" for d in self.databases.values()}
        )

    async def status(self) -> StoreStatus:
        return StoreStatus()


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Changes stay private to this unit of work until commit applies them to the database."""

    lock_wait_seconds = 5.0  # as long as dqlite's busy timeout

    def __init__(self, store: InMemoryStore, database: InMemoryDatabase) -> None:
        super().__init__(
            store.retry_settings, store.retry_counters, database.outbox_bell, store.tracing
        )
        self._database = database
        self._holds_writer = False
        self._tables: list[InMemoryTable[Any, Any]] = []

    async def _begin(self) -> None:
        if not self.reading_only:
            await self._take_writer_lock()
        self._tables = []
        database = self._database
        for registration in database.context.registrations:
            table = InMemoryTable(database.tables[registration.name], read_only=self.reading_only)
            self._tables.append(table)
            setattr(self, registration.name, registration.memory(table))
        events = InMemoryTable(database.outbox_events, read_only=self.reading_only)
        lease = InMemoryTable(database.outbox_lease, read_only=self.reading_only)
        answers = InMemoryTable(database.answers, read_only=self.reading_only)
        self._tables += [events, lease, answers]
        self.outbox = InMemoryOutbox(events, lease)
        self.answers = InMemoryStoredAnswers(answers)

    async def _end(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await super()._end(exc_type, exc, traceback)
        finally:
            if self._holds_writer:
                self._holds_writer = False
                self._database.writer.release()

    async def commit(self, result: object = None) -> None:
        await self._store_collected_events()
        await self._store_answer(result)
        for table in self._tables:
            table.commit()
        self._committed()

    async def rollback(self) -> None:
        for table in self._tables:
            table.rollback()

    async def _take_writer_lock(self) -> None:
        try:
            async with asyncio.timeout(self.lock_wait_seconds):
                await self._database.writer.acquire()
        except TimeoutError:
            raise StoreUnavailable("another unit of work holds the database's write lock") from None
        self._holds_writer = True
