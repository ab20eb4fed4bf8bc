"""The in-memory repositories' table: committed rows plus one unit of work's changes."""

from collections.abc import Callable, Hashable, Iterable
from itertools import islice
from typing import Any

from adapters.memory.copies import copied
from domain.paging import SCAN_LIMIT, Page, Position, Window, page_of, total_of


class InMemoryTable[K: Hashable, V]:
    """Rows shared by every unit of work, seen through this unit's uncommitted changes.

    Values are copied in and out (adapters/memory/copies.py), so an entity changed but not
    saved is not stored, exactly as with the SQL repositories.
    """

    def __init__(self, committed: dict[K, V], *, read_only: bool = False) -> None:
        self._committed = committed
        self._pending: dict[K, V | None] = {}
        self._read_only = read_only

    def get(self, key: K) -> V | None:
        value = self._pending[key] if key in self._pending else self._committed.get(key)
        return copied(value)

    def put(self, key: K, value: V) -> None:
        self._check_writable()
        self._pending[key] = copied(value)

    def remove(self, key: K) -> None:
        self._check_writable()
        self._pending[key] = None

    def find(
        self,
        where: Callable[[V], bool],
        *,
        order: Callable[[V], Any],
        offset: int = 0,
        limit: int | None = None,
    ) -> list[V]:
        """The rows `where` accepts, in `order`, from `offset` on (at most `limit` of them).

        Rows are filtered and sorted as stored; only the ones returned are copied, so a page
        of a large table costs a scan, not a copy of every row.
        """
        matching = sorted(filter(where, self._current().values()), key=order)
        end = None if limit is None else offset + limit
        return [copied(value) for value in matching[offset:end]]

    def page(
        self,
        window: Window,
        *,
        narrows: Callable[[V], bool],
        scans: Callable[[V], bool] | None,
        position: Callable[[V], Position],
        searches: Callable[[V], bool] | None = None,
    ) -> Page[V]:
        """The page `window` asks for, as the SQL store gives it (domain.paging): the rows
        `narrows` keeps, in `position` order, checked against `scans` within the bounds;
        `searches`, the fragments a trigram index would look up, narrows them first when the
        table holds at most SCAN_LIMIT rows that pass it."""
        if searches is not None and scans is not None and self._few_pass(searches):
            narrows = _both(narrows, scans)
            scans = None
        start = None if window.after is None else window.after.position
        found = page_of(
            self._walk(narrows, position, start),
            position=position,
            matches=scans,
            limit=window.limit,
            offset=window.offset,
        )
        items = tuple(copied(value) for value in found.items)
        total = total_of(self._walk(narrows, position, None), scans) if window.with_total else None
        return Page(items, found.next, total)

    def _walk(
        self,
        narrows: Callable[[V], bool],
        position: Callable[[V], Position],
        after: Position | None,
    ) -> Iterable[V]:
        rows = sorted(filter(narrows, self._current().values()), key=position)
        return rows if after is None else (row for row in rows if position(row) > after)

    def _few_pass(self, where: Callable[[V], bool]) -> bool:
        """Whether at most SCAN_LIMIT rows pass `where`, as a bounded index lookup says."""
        passing = filter(where, self._current().values())
        return len(list(islice(passing, SCAN_LIMIT + 1))) <= SCAN_LIMIT

    def count(self, where: Callable[[V], bool]) -> int:
        return sum(1 for value in self._current().values() if where(value))

    def first(self, where: Callable[[V], bool]) -> V | None:
        """A copy of one row `where` accepts, or None."""
        found = next(filter(where, self._current().values()), None)
        return copied(found)

    def _current(self) -> dict[K, V]:
        """What this unit of work sees: the committed rows with its changes applied."""
        merged: dict[K, V | None] = {**self._committed, **self._pending}
        return {key: value for key, value in merged.items() if value is not None}

    def next_id(self: "InMemoryTable[int, V]") -> int:
        """The next integer id, as SQL's MAX(id) + 1 gives it."""
        return max(self._current(), default=0) + 1

    def commit(self) -> None:
        for key, value in self._pending.items():
            if value is None:
                self._committed.pop(key, None)
            else:
                self._committed[key] = value
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyTransaction("a read-only unit of work cannot write")


class ReadOnlyTransaction(RuntimeError):
    """A write was attempted inside `uow.read_only()`: a bug in the use case."""


def _both[V](first: Callable[[V], bool], second: Callable[[V], bool]) -> Callable[[V], bool]:
    return lambda value: first(value) and second(value)
