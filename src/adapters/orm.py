"""Tables, and the column types every aggregate uses. Rows are mapped to entities explicitly,
in each repository."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Dialect,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column
from sqlalchemy.orm.exc import FlushError

from domain.errors import DomainError


class Flag(TypeDecorator[bool]):
    """A boolean kept in an INTEGER column as 0 or 1.

    libdqlite 1.11 reads a NULL in a BOOLEAN-declared column back as false, and aborts the node
    on a wrongly typed value in one; an INTEGER column with only 0, 1 or NULL has neither bug.
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            raise TypeError(f"a Flag column takes True, False or None, not {value!r}")
        return int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        return None if value is None else bool(value)


class AwareDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime kept as ISO 8601 text with its UTC offset.

    Text, not a DATETIME-declared column, so no value can trip libdqlite 1.11's assertion on
    DATETIME cells, and the offset the value was written with comes back with it.
    """

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise TypeError(
                f"an AwareDateTime column takes a timezone-aware datetime, not {value!r}"
            )
        return value.isoformat()

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)


class Base(DeclarativeBase):
    pass


class TodoRow(Base):
    __tablename__ = "todos"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    done: Mapped[bool] = mapped_column(Flag)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased email
    is_active: Mapped[bool] = mapped_column(Flag)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


class PostRow(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Flag)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(100))
    balance_cents: Mapped[int]
    version: Mapped[int]


class TransferRow(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    from_account: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    to_account: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_cents: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


# Helpers every SQL repository uses.


async def next_id(session: AsyncSession, id_column: InstrumentedAttribute[int]) -> int:
    # Safe without a sequence: read-write transactions hold dqlite's write lock from BEGIN
    # (IMMEDIATE), so no other transaction can take this id before this one ends.
    return await session.scalar(select(func.coalesce(func.max(id_column), 0) + 1)) or 1


async def insert(session: AsyncSession, row: Base, conflict: DomainError) -> None:
    """Insert `row` now; raise `conflict` if a unique constraint refuses it."""
    session.add(row)
    try:
        await session.flush()
    except (IntegrityError, FlushError):
        raise conflict from None
