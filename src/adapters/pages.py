"""Pages of a list in SQL, as domain/paging.py defines them: the narrowing filters and the
cursor go to an index (each list's table declares the ones its filters need), so a page costs
an index seek and the rows it returns; the other filters are checked on at most SCAN_LIMIT
rows, whose end is found first. Every statement is bounded, however large the table: on
libdqlite 1.11 one node runs every statement of every client on one thread, so one unbounded
list request would stall all the others.

Substring filters long enough for a trigram index (domain.paging.searchable) are looked up in
the table's FTS5 index first, `<table>_search` (a migration makes it, with the triggers that
keep it in step): when it finds at most SCAN_LIMIT rows, the page is read from those rows."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Select,
    false,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.sql.visitors import replacement_traverse

from adapters.orm import Base, Connection, rows
from adapters.search import Search
from domain.paging import COUNT_LIMIT, SCAN_LIMIT, Cursor, Page, Position, Total, Window


@dataclass(frozen=True)
class Listing[R: Base]:
    """One list query: its table, its order (a unique sort key, its index's columns), the
    filters an index answers (`narrowing`) and those checked row by row (`scanning`)."""

    row: type[R]
    order: Sequence[InstrumentedAttribute[Any]]
    narrowing: Sequence[ColumnElement[bool]] = ()
    scanning: Sequence[ColumnElement[bool]] = ()
    # The values a narrowing filter sets the order's first columns to: the cursor compares
    # the other columns in SQL, so that the index seeks (SQLite walks an index range from a
    # row value only when it starts right after the equalities).
    pinned: Position = ()
    search: Search | None = None  # the substring filters a trigram index can answer
    # Set once the index found at most SCAN_LIMIT rows: the rows to read, by rowid.
    found: Select[tuple[int]] | None = None

    def walk(self, after: Position | None, bound: int) -> Select[tuple[R]]:
        """The rows the narrowing filters keep, in order, after `after`; the caller reads at
        most `bound` of them (a listing whose index cannot give them in order uses it)."""
        conditions = [*self.narrowing, *([] if after is None else [self.beyond(after)])]
        if self.found is not None:
            # Read the found rows by rowid and sort them: SQLite would rather walk an index
            # of the other filters, the whole of an owner's rows to find a few.
            rowid = literal_column(f"{self.row.__tablename__}.rowid", Integer)
            conditions = [*map(_unindexed, conditions), rowid.in_(self.found)]
        return select(self.row).where(*conditions).order_by(*self.order)

    def found_by_search(self, found: Select[tuple[int]]) -> "Listing[R]":
        """This listing read from the rows the trigram index `found`, every filter checked."""
        narrowing = (*self.narrowing, *self.scanning)
        return replace(self, narrowing=narrowing, scanning=(), search=None, found=found)

    def beyond(self, position: Position) -> ColumnElement[bool]:
        return self._compare(position, after=True)

    def up_to(self, position: Position) -> ColumnElement[bool]:
        return self._compare(position, after=False)

    def _compare(self, position: Position, *, after: bool) -> ColumnElement[bool]:
        """Rows beyond `position` (or up to it), comparing the pinned columns in Python."""
        pinned = len(self.pinned)
        if position[:pinned] != self.pinned:
            return true() if (position[:pinned] < self.pinned) == after else false()
        columns, values = self.order[pinned:], position[pinned:]
        if len(columns) == 1:
            return columns[0] > values[0] if after else columns[0] <= values[0]
        left, right = tuple_(*columns), tuple_(*(literal(value) for value in values))
        return left > right if after else left <= right

    def position(self, row: R) -> Position:
        return tuple(getattr(row, column.key) for column in self.order)


def _unindexed(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` with each column written `+column`: SQLite then uses no index for it."""

    def plus(element: Any, **options: Any) -> Any:
        if isinstance(element, Column):
            return UnaryExpression(element, operator=custom_op("+"), type_=element.type)
        return None

    no_options: dict[str, Any] = {}
    unindexed: ColumnElement[bool] = replacement_traverse(condition, no_options, plus)
    return unindexed


async def find(connection: Connection, listing: Listing[Any], window: Window) -> Page[Any]:
    """The page of rows `window` asks for, with its total if asked."""
    if listing.search is not None:
        rowids = listing.search.rowids().limit(SCAN_LIMIT + 1)
        found = await connection.scalar(select(func.count()).select_from(rowids.subquery()))
        if (found or 0) <= SCAN_LIMIT:
            listing = listing.found_by_search(rowids)
    read = await page(connection, listing, window.limit, window.offset, window.after)
    return read.counted(await total(connection, listing)) if window.with_total else read


async def page(
    connection: Connection, listing: Listing[Any], limit: int, offset: int, after: Cursor | None
) -> Page[Any]:
    """One page of rows, and the cursor of the next (see domain.paging.page_of)."""
    start = None if after is None else after.position
    if not listing.scanning:
        walked = listing.walk(start, offset + limit + 1).offset(offset).limit(limit + 1)
        found = await rows(connection, listing.row, walked)
        more = len(found) > limit
        return Page(
            tuple(found[:limit]), Cursor(listing.position(found[limit - 1])) if more else None
        )
    end = await _position_at(connection, listing, start, SCAN_LIMIT - 1)
    window = listing.walk(start, SCAN_LIMIT).where(*listing.scanning)
    if end is not None:
        window = window.where(listing.up_to(end))
    found = await rows(connection, listing.row, window.limit(limit + 1))
    if len(found) > limit:
        return Page(tuple(found[:limit]), Cursor(listing.position(found[limit - 1])))
    return Page(tuple(found), None if end is None else Cursor(end))


async def total(connection: Connection, listing: Listing[Any]) -> Total:
    """How many rows match, walking at most COUNT_LIMIT + 1 (see domain.paging.total_of)."""
    if not listing.scanning:
        walked = listing.walk(None, COUNT_LIMIT + 1)
        walked = walked.with_only_columns(literal(1), maintain_column_froms=True)
        walked = walked.limit(COUNT_LIMIT + 1)
        count = await connection.scalar(select(func.count()).select_from(walked.subquery())) or 0
        return Total(count, capped=count > COUNT_LIMIT)
    end = await _position_at(connection, listing, None, COUNT_LIMIT)
    matching = select(func.count()).select_from(listing.row)
    matching = matching.where(*listing.narrowing, *listing.scanning)
    if end is not None:
        matching = matching.where(listing.up_to(end))
    return Total(await connection.scalar(matching) or 0, capped=end is not None)


async def _position_at(
    connection: Connection, listing: Listing[Any], after: Position | None, index: int
) -> Position | None:
    """The sort key of the row at `index` (0-based) of the walk, or None if it is shorter."""
    walked = listing.walk(after, index + 1).with_only_columns(*listing.order)
    walked = walked.offset(index).limit(1)
    found = (await connection.execute(walked)).first()
    return None if found is None else tuple(found)
