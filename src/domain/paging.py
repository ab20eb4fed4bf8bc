"""A page of results and the bounds every query object's window obeys."""

from dataclasses import dataclass

from domain.errors import InvalidValue

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Page[T]:
    items: tuple[T, ...]
    total: int


def check_window(limit: object, offset: object) -> None:
    """Raise InvalidValue unless limit is 1..MAX_LIMIT and offset is 0..MAX_OFFSET."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidValue("offset", f"must be a whole number from 0 to {MAX_OFFSET}")
