"""Field kinds every aggregate uses: each check returns the value if it may be stored, and
raises InvalidValue naming the field otherwise. Value objects and query objects call these;
the tables take their column sizes from the same constants."""

import math
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.errors import InvalidValue

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1  # SQLite's INTEGER: one more and the engine stores a REAL
MAX_ID = INT64_MAX
TEXT_MAX_LENGTH = 255  # the length a `str` field gets when its kind names none
EMAIL_MAX_LENGTH = 254  # RFC 5321's longest path


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


def check_no_control_characters(field: str, text: str) -> None:
    """For text that names something in a URL: a newline there would make a path that no
    route matches (or, at the end, one that matches the key without it)."""
    if any(unicodedata.category(character) == "Cc" for character in text):
        raise InvalidValue(field, "must not contain control characters (newlines, tabs, ...)")


def canonical(text: str) -> str:
    """One spelling of text that Unicode writes several ways (NFC): `café` typed with an
    accented e and with e plus a combining accent are the same key."""
    return unicodedata.normalize("NFC", text)


def folded(text: str) -> str:
    """The form in which two spellings of a case-insensitive identity compare equal: NFKC,
    then case-folded (so `straße` and `STRASSE` match, as `K` and the Kelvin sign do)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def check_bool(field: str, value: object) -> bool:
    # Only True and False reach a Flag column: a stray int or string would read back as neither.
    if not isinstance(value, bool):
        raise InvalidValue(field, f"must be true or false, not {type(value).__name__}")
    return value


def check_int(
    field: str, value: object, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX
) -> int:
    """A whole number within [minimum, maximum], which must lie within a 64-bit column."""
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise InvalidValue(field, f"must be a whole number from {minimum} to {maximum}")
    return value


def check_id(field: str, value: object) -> int:
    return check_int(field, value, minimum=1, maximum=MAX_ID)


def check_float(field: str, value: object) -> float:
    # SQLite stores NaN as NULL and the infinities do not survive JSON: finite numbers only.
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidValue(field, "must be a finite number")
    return float(value)


def check_date(field: str, value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidValue(field, "must be a calendar date (YYYY-MM-DD)")
    return value


def check_moment(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidValue(field, "must be a date and time with a timezone")
    try:
        value.astimezone(UTC)  # stored by its UTC instant, which must exist
    except OverflowError:
        raise InvalidValue(field, "must fall between the years 1 and 9999 in UTC") from None
    return value


# How query objects match values of each kind, as SQL does: no condition passes every value,
# and an absent value (None, NULL) passes no condition.


def contains(value: str | None, fragment: str | None) -> bool:
    return fragment is None or (value is not None and fragment in value)


def equals(value: object, wanted: object) -> bool:
    return wanted is None or (value is not None and value == wanted)


def before(value: date | None, bound: date | None) -> bool:
    return bound is None or (value is not None and value < bound)


def after(value: date | None, bound: date | None) -> bool:
    return bound is None or (value is not None and value > bound)


@dataclass(frozen=True, slots=True)
class Email:
    """An address as the user wrote it; two addresses are the same person if `key`s are equal."""

    text: str

    def __post_init__(self) -> None:
        check_text("email", self.text, min_length=3, max_length=EMAIL_MAX_LENGTH)
        local, at, domain = self.text.rpartition("@")
        labels = domain.split(".")
        if (
            not at
            or not local
            or any(c.isspace() for c in self.text)
            or len(labels) < 2
            or not all(labels)
        ):
            raise InvalidValue("email", "must look like name@example.org")

    @property
    def key(self) -> str:
        return folded(self.text)
