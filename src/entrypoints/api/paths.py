"""Path parameters the routers share."""

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator

from domain.fields import MAX_ID


def _decimal_digits(value: object) -> object:
    # Left alone, `1.0`, `+1` and `1_000` would all read as an id: one resource, many URLs.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("an id is written in decimal digits only")
    return value


IdPath = Annotated[int, BeforeValidator(_decimal_digits), Path(ge=1, le=MAX_ID)]
