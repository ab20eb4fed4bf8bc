"""The in-memory store and its unit of work: what dqlite does, kept in this process."""

import asyncio
from collections.abc import Hashable, Sequence
from types import TracebackType
from typing import Any, Self

from adapters.memory.table import InMemoryTable
from adapters.outbox import InMemoryOutbox
from adapters.repositories import REPOSITORIES, Registration
from service.operations import Readiness, StoreStatus
from service.unit_of_work import (
    AbstractUnitOfWork,
    RetryCounters,
    RetrySettings,
    StoreUnavailable,
)


class InMemoryStore:
    """Committed rows, one dict per registered repository, and the single writer's lock."""

    def __init__(
        self,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        *,
        registrations: Sequence[Registration] = REPOSITORIES,
    ) -> None:
        self.registrations = tuple(registrations)
        self.tables: dict[str, dict[Hashable, Any]] = {r.name: {} for r in self.registrations}
        self.outbox_events: dict[int, Any] = {}
        self.outbox_lease: dict[int, Any] = {}
        # One writer at a time, as dqlite has: read-modify-write use cases cannot interleave.
        self.writer = asyncio.Lock()
        self.retry_settings = retry_settings
        self.retry_counters = retry_counters or RetryCounters()

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def unit_of_work(self) -> AbstractUnitOfWork:
        return InMemoryUnitOfWork(self)

    async def readiness(self) -> Readiness:
        return Readiness(True, {"store": "ok"})

    async def status(self) -> StoreStatus:
        return StoreStatus()


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Changes stay private to this unit of work until commit applies them to the store."""

    lock_wait_seconds = 5.0  # as long as dqlite's busy timeout

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(store.retry_settings, store.retry_counters)
        self._store = store
        self._holds_writer = False
        self._tables: list[InMemoryTable[Any, Any]] = []

    async def __aenter__(self) -> Self:
        if not self.reading_only:
            await self._take_writer_lock()
        self._tables = []
        for registration in self._store.registrations:
            table = InMemoryTable(
                self._store.tables[registration.name], read_only=self.reading_only
            )
            self._tables.append(table)
            setattr(self, registration.name, registration.memory(table))
        events = InMemoryTable(self._store.outbox_events, read_only=self.reading_only)
        lease = InMemoryTable(self._store.outbox_lease, read_only=self.reading_only)
        self._tables += [events, lease]
        self.outbox = InMemoryOutbox(events, lease)
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
        await self._store_collected_events()
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
