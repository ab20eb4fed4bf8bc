"""Stored answers of keyed requests: SQLAlchemy on dqlite, and its in-memory twin. Each context's
database holds its own, written in the same transaction as the change they answer."""

from typing import cast

from sqlalchemy import (
    ColumnElement,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    literal_column,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import Base, Connection
from domain.idempotency import KEY_MAX_LENGTH, IdempotencyKey
from domain.principals import SUBJECT_MAX_LENGTH
from service.idempotency import AbstractStoredAnswers, Answer, KeyedRequest, StoredAnswer

LOCATION_MAX_LENGTH = 2000


class StoredAnswerRow(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_stored_at_ms", "stored_at_ms"),)

    scope: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(LOCATION_MAX_LENGTH))
    stored_at_ms: Mapped[int] = mapped_column(Integer)


answers_table = cast(Table, StoredAnswerRow.__table__)


class SqlAlchemyStoredAnswers(AbstractStoredAnswers):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def get(self, scope: str, key: IdempotencyKey) -> StoredAnswer | None:
        statement = select(answers_table).where(
            answers_table.c.scope == scope, answers_table.c.key == key.text
        )
        row = (await self._connection.execute(statement)).one_or_none()
        if row is None:
            return None
        request = KeyedRequest(row.scope, IdempotencyKey(row.key), row.fingerprint)
        answer = Answer(row.status, row.body, row.location)
        return StoredAnswer(request, answer, row.stored_at_ms)

    async def add(self, stored: StoredAnswer) -> None:
        await self._connection.execute(insert(answers_table).values(_row(stored)))

    async def prune(self, stored_before_ms: int, limit: int) -> int:
        rowid: ColumnElement[int] = literal_column("rowid")
        oldest = (
            select(rowid)
            .where(answers_table.c.stored_at_ms < stored_before_ms)
            .order_by(answers_table.c.stored_at_ms)
            .limit(limit)
        )
        result = await self._connection.execute(delete(answers_table).where(rowid.in_(oldest)))
        return int(getattr(result, "rowcount", 0))


def _row(stored: StoredAnswer) -> dict[str, object]:
    return {
        "scope": stored.request.scope,
        "key": stored.request.key.text,
        "fingerprint": stored.request.fingerprint,
        "status": stored.answer.status,
        "body": stored.answer.body,
        "location": stored.answer.location,
        "stored_at_ms": stored.stored_at_ms,
    }


class InMemoryStoredAnswers(AbstractStoredAnswers):
    def __init__(self, table: InMemoryTable[tuple[str, str], StoredAnswer]) -> None:
        self._table = table

    async def get(self, scope: str, key: IdempotencyKey) -> StoredAnswer | None:
        return self._table.get((scope, key.text))

    async def add(self, stored: StoredAnswer) -> None:
        self._table.put((stored.request.scope, stored.request.key.text), stored)

    async def prune(self, stored_before_ms: int, limit: int) -> int:
        doomed = self._table.find(
            lambda stored: stored.stored_at_ms < stored_before_ms,
            order=lambda stored: stored.stored_at_ms,
            limit=limit,
        )
        for stored in doomed:
            self._table.remove((stored.request.scope, stored.request.key.text))
        return len(doomed)
