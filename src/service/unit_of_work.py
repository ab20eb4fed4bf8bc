"""The unit of work: one transaction, carrying the repositories that work inside it."""

import abc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Protocol, Self

from domain.events import DomainEvent, RecordsEvents
from service.outbox import AbstractOutbox, OutboxBell
from service.retry import RetryCounters, RetrySettings


class AbstractUnitOfWork(abc.ABC):
    """`async with uow:` opens a transaction; only `await uow.commit()` makes it durable.

    Leaving the block without committing, normally or by an exception, rolls back.
    `async with uow.read_only():` opens a transaction that only reads: on dqlite it does
    not wait for the single writer's lock, and any attempt to write fails. With
    `snapshot=False` no transaction is opened: each statement reads the latest commit. For a
    use case that reads with one statement a snapshot adds nothing, and on dqlite it costs a
    round trip before (BEGIN) and one after (ROLLBACK).

    Each bounded context subclasses it (service/contexts.py), declaring the repositories of
    its aggregates; the implementation builds them from adapters/contexts.py.
    """

    outbox: AbstractOutbox  # the domain events stored with this transaction's changes

    reading_only: bool = False
    reading_snapshot: bool = True  # while reading only: in one transaction

    def __init__(
        self,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        outbox_bell: OutboxBell | None = None,
    ) -> None:
        self.retry_settings = retry_settings or RetrySettings()
        self.retry_counters = retry_counters or RetryCounters()
        self._collected: list[DomainEvent] = []
        self._stored_events = False
        # The store gives every unit of work of a context the same bell (its relay listens).
        self.outbox_bell = outbox_bell or OutboxBell()

    async def __aenter__(self) -> Self:
        self._collected, self._stored_events = [], False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._collected = []
        await self.rollback()

    def collect(self, *aggregates: RecordsEvents) -> None:
        """Take the events these aggregates recorded: `commit()` stores them in the outbox, in
        the same transaction as the changes, so an event exists exactly when its change does."""
        for aggregate in aggregates:
            self._collected += aggregate.events
            aggregate.events.clear()

    async def _store_collected_events(self) -> None:
        """For implementations: call first thing in `commit()`."""
        if self._collected:
            events, self._collected = self._collected, []
            await self.outbox.add(events)
            self._stored_events = True

    def _announce_stored_events(self) -> None:
        """For implementations: call once `commit()` is durable. (Without it, the relay still
        finds the events, at its next idle poll.)"""
        if self._stored_events:
            self._stored_events = False
            self.outbox_bell.ring()

    @asynccontextmanager
    async def read_only(self, *, snapshot: bool = True) -> AsyncIterator[Self]:
        self.reading_only, self.reading_snapshot = True, snapshot
        try:
            async with self:
                yield self
        finally:
            self.reading_only, self.reading_snapshot = False, True

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Discard what was not committed; harmless after a commit."""


type UnitOfWorkFactory = Callable[[], AbstractUnitOfWork]


class UnitsOfWork(Protocol):
    """Opens a new unit of work of the context asked for: `units(BillingUnitOfWork)`."""

    def __call__[U: AbstractUnitOfWork](self, context: type[U], /) -> U: ...
