"""Idempotency keys: a client names an unsafe request, so that sending it again (its answer was
lost) applies it at most once and gets the first answer."""

import re
from dataclasses import dataclass

from domain.errors import Conflict, InvalidValue
from domain.fields import check_text

KEY_MAX_LENGTH = 128
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    text: str

    def __post_init__(self) -> None:
        check_text("Idempotency-Key", self.text, min_length=1, max_length=KEY_MAX_LENGTH)
        if not VISIBLE_ASCII.fullmatch(self.text):
            raise InvalidValue("Idempotency-Key", "must be visible ASCII: no spaces or controls")


class IdempotencyKeyReused(InvalidValue):
    def __init__(self, key: IdempotencyKey) -> None:
        super().__init__("Idempotency-Key", f"{key.text!r} was sent before with another request")


class KeyInUse(Conflict):
    def __init__(self, key: IdempotencyKey) -> None:
        super().__init__(f"a request with Idempotency-Key {key.text!r} is still being processed")
