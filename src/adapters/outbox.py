"""The outbox: SQLAlchemy on dqlite, and its in-memory twin. Events are rows of the same
database as the changes they describe, written in the same transaction."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Index, Integer, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import AwareDateTime, Base, Connection, rows
from domain.events import DomainEvent
from service.outbox import AbstractOutbox, OutboxCounts, StoredEvent, payload_of

ERROR_MAX_LENGTH = 500
TRACE_CONTEXT_MAX_LENGTH = 1000  # traceparent is 55 characters; tracestate is bounded at 512


class OutboxEventRow(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_delivered_at_ms_id", "delivered_at_ms", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # the event's fields as a JSON object
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at_ms: Mapped[int | None] = mapped_column(Integer)
    delivered_at_ms: Mapped[int | None] = mapped_column(Integer)
    parked_at_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX_LENGTH))
    # The W3C trace context headers of the request that stored it, as a JSON object.
    trace_context: Mapped[str | None] = mapped_column(String(TRACE_CONTEXT_MAX_LENGTH))


class OutboxLeaseRow(Base):
    """One row: which relay delivers, and until when (epoch milliseconds)."""

    __tablename__ = "outbox_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    until_ms: Mapped[int] = mapped_column(Integer)


LEASE_ID = 1
events_table = cast(Table, OutboxEventRow.__table__)
lease_table = cast(Table, OutboxLeaseRow.__table__)


class SqlAlchemyOutbox(AbstractOutbox):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(
        self, events: Sequence[DomainEvent], *, trace_context: dict[str, str] | None = None
    ) -> None:
        now = datetime.now(UTC)
        context = _trace_context_json(trace_context)
        rows = [
            {
                "name": type(event).__name__,
                "stream": event.stream,
                "payload": json.dumps(payload_of(event)),
                "recorded_at": now,
                "attempts": 0,
                "trace_context": context,
            }
            for event in events
        ]
        await self._connection.execute(insert(events_table), rows)

    async def undelivered(self, limit: int) -> list[StoredEvent]:
        parked_streams = select(OutboxEventRow.stream).where(
            OutboxEventRow.parked_at_ms.is_not(None)
        )
        statement = (
            select(OutboxEventRow)
            .where(
                OutboxEventRow.delivered_at_ms.is_(None),
                OutboxEventRow.parked_at_ms.is_(None),
                OutboxEventRow.stream.not_in(parked_streams),
            )
            .order_by(OutboxEventRow.id)
            .limit(limit)
        )
        return [_stored(row) for row in await rows(self._connection, OutboxEventRow, statement)]

    async def mark_delivered(self, event_id: int, now_ms: int) -> None:
        statement = update(events_table).where(events_table.c.id == event_id)
        await self._connection.execute(statement.values(delivered_at_ms=now_ms))

    async def mark_failed(
        self, event_id: int, error: str, *, retry_at_ms: int | None, now_ms: int
    ) -> None:
        statement = (
            update(events_table)
            .where(events_table.c.id == event_id)
            .values(
                attempts=events_table.c.attempts + 1,
                retry_at_ms=retry_at_ms,
                parked_at_ms=now_ms if retry_at_ms is None else None,
                last_error=error[:ERROR_MAX_LENGTH],
            )
        )
        await self._connection.execute(statement)

    async def parked(self) -> list[StoredEvent]:
        statement = (
            select(OutboxEventRow)
            .where(OutboxEventRow.parked_at_ms.is_not(None))
            .order_by(OutboxEventRow.id)
        )
        return [_stored(row) for row in await rows(self._connection, OutboxEventRow, statement)]

    async def unpark(self, event_id: int) -> bool:
        statement = (
            update(events_table)
            .where(events_table.c.id == event_id, events_table.c.parked_at_ms.is_not(None))
            .values(parked_at_ms=None, attempts=0, retry_at_ms=None)
        )
        result = await self._connection.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def counts(self) -> OutboxCounts:
        undelivered = events_table.c.delivered_at_ms.is_(None)
        parked = events_table.c.parked_at_ms.is_not(None)
        statement = select(
            func.count().filter(undelivered & ~parked), func.count().filter(parked)
        ).select_from(events_table)
        pending, parked_count = (await self._connection.execute(statement)).one()
        return OutboxCounts(pending or 0, parked_count or 0)

    async def prune(self, delivered_before_ms: int) -> int:
        newest = select(func.max(events_table.c.id)).scalar_subquery()
        statement = delete(events_table).where(
            events_table.c.delivered_at_ms < delivered_before_ms,
            events_table.c.id < newest,  # kept, so that no id is ever given out twice
        )
        result = await self._connection.execute(statement)
        return int(getattr(result, "rowcount", 0))

    async def take_lease(self, holder: str, now_ms: int, until_ms: int) -> bool:
        row = (await self._connection.execute(select(lease_table))).first()
        if row is None:
            await self._connection.execute(
                insert(lease_table).values(id=LEASE_ID, holder=holder, until_ms=until_ms)
            )
            return True
        if row.holder != holder and row.until_ms > now_ms:
            return False
        statement = update(lease_table).where(lease_table.c.id == LEASE_ID)
        await self._connection.execute(statement.values(holder=holder, until_ms=until_ms))
        return True


def _stored(row: OutboxEventRow) -> StoredEvent:
    return StoredEvent(
        row.id,
        row.name,
        row.stream,
        json.loads(row.payload),
        row.attempts,
        row.retry_at_ms,
        row.parked_at_ms is not None,
        row.last_error,
        json.loads(row.trace_context) if row.trace_context else None,
    )


def _trace_context_json(trace_context: dict[str, str] | None) -> str | None:
    """The headers as stored; None when they would not fit (the event is stored untraced)."""
    if not trace_context:
        return None
    stored = json.dumps(trace_context)
    return stored if len(stored) <= TRACE_CONTEXT_MAX_LENGTH else None


@dataclass(frozen=True, slots=True)
class _MemoryEvent:
    stored: StoredEvent
    delivered_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class _MemoryLease:
    holder: str
    until_ms: int


class InMemoryOutbox(AbstractOutbox):
    def __init__(
        self,
        events: InMemoryTable[int, _MemoryEvent],
        lease: InMemoryTable[int, _MemoryLease],
    ) -> None:
        self._events = events
        self._lease = lease

    async def add(
        self, events: Sequence[DomainEvent], *, trace_context: dict[str, str] | None = None
    ) -> None:
        context = _trace_context_json(trace_context)
        for event in events:
            event_id = self._events.next_id()
            stored = StoredEvent(
                event_id,
                type(event).__name__,
                event.stream,
                json.loads(_json(event)),
                trace_context=json.loads(context) if context else None,
            )
            self._events.put(event_id, _MemoryEvent(stored))

    async def undelivered(self, limit: int) -> list[StoredEvent]:
        parked = {row.stored.stream for row in self._events.find(_parked, order=_by_id)}
        rows = self._events.find(
            lambda row: (
                row.delivered_at_ms is None
                and not row.stored.parked
                and row.stored.stream not in parked
            ),
            order=_by_id,
            limit=limit,
        )
        return [row.stored for row in rows]

    async def mark_delivered(self, event_id: int, now_ms: int) -> None:
        row = self._events.get(event_id)
        if row is not None:
            self._events.put(event_id, replace(row, delivered_at_ms=now_ms))

    async def mark_failed(
        self, event_id: int, error: str, *, retry_at_ms: int | None, now_ms: int
    ) -> None:
        row = self._events.get(event_id)
        if row is not None:
            stored = replace(
                row.stored,
                attempts=row.stored.attempts + 1,
                retry_at_ms=retry_at_ms,
                parked=retry_at_ms is None,
                last_error=error[:ERROR_MAX_LENGTH],
            )
            self._events.put(event_id, replace(row, stored=stored))

    async def parked(self) -> list[StoredEvent]:
        return [row.stored for row in self._events.find(_parked, order=_by_id)]

    async def unpark(self, event_id: int) -> bool:
        row = self._events.get(event_id)
        if row is None or not row.stored.parked:
            return False
        stored = replace(row.stored, parked=False, attempts=0, retry_at_ms=None)
        self._events.put(event_id, replace(row, stored=stored))
        return True

    async def counts(self) -> OutboxCounts:
        pending = self._events.count(
            lambda row: row.delivered_at_ms is None and not row.stored.parked
        )
        return OutboxCounts(pending, self._events.count(lambda row: row.stored.parked))

    async def prune(self, delivered_before_ms: int) -> int:
        newest = self._events.next_id() - 1  # kept, so that no id is ever given out twice
        old = self._events.find(
            lambda row: (
                row.delivered_at_ms is not None
                and row.delivered_at_ms < delivered_before_ms
                and row.stored.id < newest
            ),
            order=_by_id,
        )
        for row in old:
            self._events.remove(row.stored.id)
        return len(old)

    async def take_lease(self, holder: str, now_ms: int, until_ms: int) -> bool:
        lease = self._lease.get(LEASE_ID)
        if lease is not None and lease.holder != holder and lease.until_ms > now_ms:
            return False
        self._lease.put(LEASE_ID, _MemoryLease(holder, until_ms))
        return True


def _parked(row: _MemoryEvent) -> bool:
    return row.stored.parked


def _by_id(row: _MemoryEvent) -> int:
    return row.stored.id


def _json(event: DomainEvent) -> str:
    """As the SQL outbox stores it: what a handler gets back is what JSON keeps."""
    return json.dumps(payload_of(event))
