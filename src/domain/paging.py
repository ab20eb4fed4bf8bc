"""Pages of a list, the same on every store: the window a query object asks for, the cursor
that resumes a list where a page ended, and the bounds that keep any one page cheap however
many rows are stored.

A list is read in its order (each query object names it), from just after its `after` cursor.
Its filters are of three kinds. Those an index answers (equality on a column) narrow the rows
the list walks. Substring filters of SEARCH_MIN_LENGTH characters or more are looked up in an
index of the column's trigrams first: when at most SCAN_LIMIT rows of the whole table hold the
fragments, a page reads those rows only, and is full. Otherwise (a shorter fragment, or one
found in more rows) the substrings are checked on each row walked, and a page walks at most
SCAN_LIMIT rows: it can hold fewer than `limit` items, or none, while `next` says more may
follow. A total is counted only when asked for, and stops at COUNT_LIMIT.
"""

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Protocol, TypeGuard

from domain.errors import InvalidValue

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10_000  # an offset walks every row it skips: deeper, follow `next`
SCAN_LIMIT = 5_000  # rows one page walks to check the filters no index answers
SEARCH_MIN_LENGTH = 3  # characters: a trigram index answers a fragment this long or longer
COUNT_LIMIT = 10_000  # rows a total walks: beyond, it says "more than"
CURSOR_MAX_LENGTH = 1024

type Position = tuple[str | int, ...]  # a row's sort key, in the list's order


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the sort key of the last row it walked. Clients see it encoded
    (`encode`), and hand it back as it was."""

    position: Position

    def encode(self) -> str:
        text = json.dumps(list(self.position), separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The cursor `encode` gave; InvalidValue if `text` is not one (the query object
        checks that its position fits the list: `check_cursor`)."""
        try:
            position = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _NOT_A_CURSOR from None
        if len(text) > CURSOR_MAX_LENGTH or not isinstance(position, list):
            raise _NOT_A_CURSOR
        return cls(tuple(position))


_NOT_A_CURSOR = InvalidValue("after", "is not a cursor this list gave (pass a page's `next`)")


def check_cursor(after: Cursor | None, shape: Sequence[type]) -> None:
    """Raise InvalidValue unless `after` is None or a position of the list's shape (the type
    of each of its sort columns) that a store can hold."""
    if after is not None and not (
        len(after.position) == len(shape)
        and all(_storable(value, kind) for value, kind in zip(after.position, shape, strict=True))
    ):
        raise _NOT_A_CURSOR


def _storable(value: object, kind: type) -> bool:
    if type(value) is not kind:
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63  # SQLite's integers
    try:
        str(value).encode()  # UTF-8 carries no lone surrogate
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Total:
    """How many rows a list holds; when `capped`, counting stopped at COUNT_LIMIT rows walked
    and there are at least `count`."""

    count: int
    capped: bool = False


@dataclass(frozen=True, slots=True)
class Page[T]:
    items: tuple[T, ...]
    next: Cursor | None = None  # where the following page starts; None: the list is done
    total: Total | None = None  # counted only when asked for

    def counted(self, total: Total | None) -> "Page[T]":
        return replace(self, total=total)


class Window(Protocol):
    """What every query object asks of a list beside its filters."""

    @property
    def limit(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def after(self) -> Cursor | None: ...
    @property
    def with_total(self) -> bool: ...


def check_window(
    limit: object, offset: object, after: Cursor | None = None, *, scans: str | None = None
) -> None:
    """Raise InvalidValue unless limit is 1..MAX_LIMIT and offset 0..MAX_OFFSET, and unless
    an offset is given alone: not with a cursor, nor with a filter that scans (`scans`, the
    first such filter's name)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidValue(
            "offset", f"must be a whole number from 0 to {MAX_OFFSET}; deeper, follow `next`"
        )
    if offset and after is not None:
        raise InvalidValue("offset", "cannot be combined with `after`")
    if offset and scans is not None:
        raise InvalidValue("offset", f"cannot be combined with {scans}: follow `next`")


def searchable(fragment: str | None) -> TypeGuard[str]:
    """Whether a substring filter's fragment is looked up in a trigram index."""
    return fragment is not None and len(fragment) >= SEARCH_MIN_LENGTH


def holds_searched(text: str | None, fragment: str | None) -> bool:
    """Whether `text` holds `fragment`, where the trigram index looks it up (else True); an
    absent text holds none."""
    return not searchable(fragment) or (text is not None and fragment in text)


def page_of[T](
    walked: Iterable[T],
    *,
    position: Callable[[T], Position],
    matches: Callable[[T], bool] | None,
    limit: int,
    offset: int = 0,
) -> Page[T]:
    """The page a store returns, from the rows its indexes give (`walked`: those the
    narrowing filters keep, in the list's order, after the cursor), checking `matches` (the
    filters no index answers, None if there are none) on at most SCAN_LIMIT of them. The
    in-memory store pages with this; the SQL one does the same in SQL (adapters/pages.py)."""
    if matches is None:
        rows = list(islice(walked, offset, offset + limit + 1))
        items = rows[:limit]
        more = len(rows) > limit
        return Page(tuple(items), Cursor(position(items[-1])) if more else None)
    window = list(islice(walked, SCAN_LIMIT))
    found = [row for row in window if matches(row)]
    if len(found) > limit:
        return Page(tuple(found[:limit]), Cursor(position(found[limit - 1])))
    full = len(window) == SCAN_LIMIT  # more rows may follow: resume after the last walked
    return Page(tuple(found), Cursor(position(window[-1])) if full else None)


def total_of[T](walked: Iterable[T], matches: Callable[[T], bool] | None) -> Total:
    """The total a store returns, from the rows its indexes give, from the first on: the
    matches among the first COUNT_LIMIT + 1 walked, capped if there were that many."""
    window = list(islice(walked, COUNT_LIMIT + 1))
    count = len(window) if matches is None else sum(1 for row in window if matches(row))
    return Total(count, capped=len(window) > COUNT_LIMIT)
