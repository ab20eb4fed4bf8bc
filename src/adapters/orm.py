"""The declarative base, the column types every aggregate's table uses, and helpers of the SQL
repositories. Tables live beside their repositories; rows are mapped to entities explicitly.

Repositories run Core statements on their unit of work's connection, not through an ORM
session: measured on one node, a unit of work inserting one row took 1.22 ms of the event
loop's time with a session and 1.01 ms without (35 us more per statement, 60 us to commit and
close it). The row classes name the tables and columns, and carry a row's values."""

from datetime import UTC, date, datetime
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Delete,
    Dialect,
    Executable,
    Insert,
    Integer,
    Result,
    Select,
    SQLColumnExpression,
    String,
    Table,
    TypeDecorator,
    Update,
    and_,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

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
    """A timezone-aware datetime kept as text: the instant in UTC, then the offset it was
    written with (`20260102T010405.678901+02:00`).

    Text, not a DATETIME-declared column, so no value can trip libdqlite 1.11's assertion on
    DATETIME cells. The fixed-width UTC part sorts as the instants do (compare `instant()` of
    the column with `instant_key()` of a bound), and the offset comes back as written.
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
        offset = value.isoformat()[26 if value.microsecond else 19 :]
        return instant_key(value) + offset

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value[4] == "-":  # written before the sortable form: plain ISO 8601
            return datetime.fromisoformat(value)
        moment = datetime.fromisoformat(value[:INSTANT_WIDTH]).replace(tzinfo=UTC)
        return moment.astimezone(datetime.fromisoformat(f"2000-01-01T00:00{value[22:]}").tzinfo)


INSTANT_WIDTH = 22


def instant_key(moment: datetime) -> str:
    """The fixed-width UTC form of `moment` that AwareDateTime columns start with."""
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}"
        f".{u.microsecond:06d}"
    )


def instant(column: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """The sortable UTC part of an AwareDateTime column, to compare with `instant_key()`."""
    return func.substr(column, 1, INSTANT_WIDTH)


class IsoDate(TypeDecorator[date]):
    """A calendar date kept as ISO 8601 text (YYYY-MM-DD), which sorts as dates do.

    Text, not a DATE-declared column, for the same reason as AwareDateTime.
    """

    impl = String(10)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TypeError(f"an IsoDate column takes a date, not {value!r}")
        return value.isoformat()

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        return None if value is None else date.fromisoformat(value)


class Base(DeclarativeBase):
    """Every table; each aggregate's adapter module declares its own."""


class Connection(Protocol):
    """What a repository runs its statements on: SQLAlchemy's AsyncConnection, or its unit of
    work's, which takes one (and begins the transaction) at the first statement."""

    async def execute(self, statement: Executable, parameters: Any = None, /) -> Result[Any]: ...

    async def scalar(self, statement: Executable, parameters: Any = None, /) -> Any: ...


# Helpers every SQL repository uses.


async def next_id(connection: Connection, id_column: InstrumentedAttribute[int]) -> int:
    # Safe without a sequence: read-write transactions hold dqlite's write lock from BEGIN
    # (IMMEDIATE), so no other transaction can take this id before this one ends.
    return await connection.scalar(select(func.coalesce(func.max(id_column), 0) + 1)) or 1


async def insert(connection: Connection, row: Base, conflict: DomainError) -> None:
    """Insert `row` now; raise `conflict` if a unique constraint refuses it."""
    values = {
        column.key: value
        for name, column in _attributes(type(row))
        if (value := getattr(row, name)) is not None
    }
    try:
        # One statement per table with the values as parameters: `.values(values)` built a
        # new statement each time, 0.1 ms more a row (measured on one node).
        await connection.execute(_insert(type(row)), values)
    except IntegrityError:
        raise conflict from None


async def get_row[R: Base](connection: Connection, row_class: type[R], *key: object) -> R | None:
    """The row of `row_class` whose primary key is `key`, or None."""
    found = (await connection.execute(_select_by_key(row_class), _key_values(key))).first()
    return None if found is None else _row_of(row_class, found)


async def rows[R: Base](
    connection: Connection, row_class: type[R], statement: Executable
) -> list[R]:
    """The rows `statement` (a SELECT of `row_class`'s columns) finds, as `row_class` objects."""
    return [_row_of(row_class, found) for found in await connection.execute(statement)]


async def first_row[R: Base](
    connection: Connection, row_class: type[R], statement: Executable
) -> R | None:
    """The first row `statement` (a SELECT of `row_class`'s columns) finds, or None."""
    found = (await connection.execute(statement)).first()
    return None if found is None else _row_of(row_class, found)


def _row_of[R: Base](row_class: type[R], found: Any) -> R:
    return row_class(**{name: found._mapping[column] for name, column in _attributes(row_class)})


async def update_row(
    connection: Connection,
    row_class: type[Base],
    key: tuple[object, ...],
    values: dict[str, Any],
    conflict: DomainError | None = None,
) -> int:
    """Set `values` (column: value) in the row whose primary key is `key`; how many rows
    changed. Raise `conflict`, when given, if a unique constraint refuses the values."""
    statement = _update_by_key(row_class).values(values)
    try:
        result = await connection.execute(statement, _key_values(key))
    except IntegrityError:
        if conflict is None:
            raise
        raise conflict from None
    return cast(int, getattr(result, "rowcount", 0))


async def delete_row(connection: Connection, row_class: type[Base], *key: object) -> int:
    """Delete the row whose primary key is `key`; rows deleted (0 or 1)."""
    result = await connection.execute(_delete_by_key(row_class), _key_values(key))
    return cast(int, getattr(result, "rowcount", 0))


def _key_values(key: tuple[object, ...]) -> dict[str, object]:
    return {f"key_{n}": value for n, value in enumerate(key)}


def _by_key(table: Table) -> ColumnElement[bool]:
    columns = table.primary_key.columns
    return and_(*(column == bindparam(f"key_{n}") for n, column in enumerate(columns)))


@cache
def _attributes(row_class: type[Base]) -> tuple[tuple[str, Any], ...]:
    """Each mapped attribute's name, with its column."""
    return tuple((a.key, a.columns[0]) for a in sa_inspect(row_class).column_attrs)


@cache  # one statement per table, built once, so SQLAlchemy's compiled cache finds it at once
def _select_by_key(row_class: type[Base]) -> Select[Any]:
    table = cast(Table, row_class.__table__)
    return select(table).where(_by_key(table))


@cache
def _insert(row_class: type[Base]) -> Insert:
    return sa_insert(cast(Table, row_class.__table__))


@cache
def _update_by_key(row_class: type[Base]) -> Update:
    table = cast(Table, row_class.__table__)
    return update(table).where(_by_key(table))


@cache
def _delete_by_key(row_class: type[Base]) -> Delete:
    table = cast(Table, row_class.__table__)
    return delete(table).where(_by_key(table))
