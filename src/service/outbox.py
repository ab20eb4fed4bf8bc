"""The transactional outbox: events stored with the change that caused them, and the relay
that delivers them afterwards, at least once, in order per stream."""

import abc
import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.events import DomainEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int  # the order events were stored in
    name: str  # the event's class name
    stream: str
    payload: dict[str, Any]  # the event's fields
    attempts: int = 0  # failed deliveries so far
    retry_at_ms: int | None = None  # no delivery before this (epoch milliseconds)
    parked: bool = False  # kept back after too many failures, until an operator retries it
    last_error: str | None = None
    # The trace of the request that stored it (W3C trace context headers), continued by its
    # delivery; None when it was stored untraced.
    trace_context: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int  # neither delivered nor parked
    parked: int


class OutboxBell:
    """Rung once this process commits events to a context's outbox, so that the context's
    relay looks at once instead of at its next idle poll (as it does for other processes')."""

    def __init__(self) -> None:
        self._rung = False
        # Futures of whichever event loop waits: a store may outlive one loop (tests).
        self._waiters: set[asyncio.Future[None]] = set()

    def ring(self) -> None:
        self._rung = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Until rung (since the last wait returned) or `seconds` pass."""
        if not self._rung:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=seconds)
            finally:
                self._waiters.discard(waiter)
                waiter.cancel()
        self._rung = False


def payload_of(event: DomainEvent) -> dict[str, Any]:
    return dataclasses.asdict(event)


class AbstractOutbox(abc.ABC):
    """Each unit of work's outbox (`uow.outbox`), in its store and its transaction."""

    @abc.abstractmethod
    async def add(
        self, events: Sequence[DomainEvent], *, trace_context: dict[str, str] | None = None
    ) -> None: ...

    @abc.abstractmethod
    async def undelivered(self, limit: int) -> list[StoredEvent]:
        """The oldest events neither delivered nor parked, in the order they were stored,
        leaving out every stream with a parked event (they wait for the operator's retry)."""

    @abc.abstractmethod
    async def mark_delivered(self, event_id: int, now_ms: int) -> None: ...

    @abc.abstractmethod
    async def mark_failed(
        self, event_id: int, error: str, *, retry_at_ms: int | None, now_ms: int
    ) -> None:
        """Count a failed delivery; park the event when `retry_at_ms` is None."""

    @abc.abstractmethod
    async def parked(self) -> list[StoredEvent]: ...

    @abc.abstractmethod
    async def unpark(self, event_id: int) -> bool:
        """Deliver a parked event again (its attempts start over); False if none is parked."""

    @abc.abstractmethod
    async def counts(self) -> OutboxCounts: ...

    @abc.abstractmethod
    async def prune(self, delivered_before_ms: int) -> int:
        """Delete events delivered before then, but never the newest (its id must not be
        given out again); how many were deleted."""

    @abc.abstractmethod
    async def take_lease(self, holder: str, now_ms: int, until_ms: int) -> bool:
        """Hold the relay's lease until `until_ms` if it is free, expired or `holder`'s own."""


def now_ms() -> int:
    return int(time.time() * 1000)
