"""Dates and times as the API takes them: ISO 8601 text and nothing else.

JSON has no date type, so request models take these fields leniently (not strict), and
pydantic's lenient parsing would also read a number as seconds since 1970: `0` would be
1970-01-01. These types take only the text the OpenAPI schema promises.
"""

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Field

DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
MOMENT_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})"
)


def _date_text(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATE_TEXT.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


def _moment_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and MOMENT_TEXT.fullmatch(value):
        return value
    raise ValueError("a time is written as ISO 8601 with its offset, e.g. 2026-03-31T10:00:00Z")


IsoDate = Annotated[date, BeforeValidator(_date_text), Field(strict=False)]
IsoMoment = Annotated[AwareDatetime, BeforeValidator(_moment_text), Field(strict=False)]
