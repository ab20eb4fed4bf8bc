"""Checks shared by value objects and query objects of every aggregate."""

from datetime import datetime

from domain.errors import InvalidValue


def check_text(field: str, text: object, *, min_length: int, max_length: int) -> str:
    """Return `text` if it is a storable string of an allowed length, else raise InvalidValue."""
    if not isinstance(text, str):
        raise InvalidValue(field, f"must be a string, not {type(text).__name__}")
    if not min_length <= len(text) <= max_length:
        raise InvalidValue(field, f"must be {min_length} to {max_length} characters long")
    # dqlite stores TEXT NUL-terminated and as UTF-8: neither NUL nor a lone surrogate survives.
    if "\x00" in text:
        raise InvalidValue(field, "must not contain the NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(field, "must be valid Unicode (no lone surrogates)") from None
    return text


def check_bool(field: str, value: object) -> bool:
    # The engine aborts when a non-boolean is read back from a BOOLEAN column: stop it here.
    if not isinstance(value, bool):
        raise InvalidValue(field, f"must be true or false, not {type(value).__name__}")
    return value


MAX_ID = 2**63 - 1


def check_id(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise InvalidValue(field, f"must be a whole number from 1 to {MAX_ID}")
    return value


def check_moment(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidValue(field, "must be a date and time with a timezone")
    return value
