"""Stored answers: an unsafe request sent with an Idempotency-Key is answered once. Its change
and its answer are stored in one transaction, so a retry of a request whose answer was lost
gets that answer back and changes nothing (the IETF httpapi draft "The Idempotency-Key HTTP
Header Field", as Stripe's API does it)."""

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.idempotency import IdempotencyKey

RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A request sent with an Idempotency-Key: whose it is (two principals may use the same
    key), the key, and a fingerprint of what was asked (method, path, query and body)."""

    scope: str
    key: IdempotencyKey
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What a request was answered: its status, its JSON body ("" for none), its Location."""

    status: int
    body: str
    location: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    request: KeyedRequest
    answer: Answer
    stored_at_ms: int


@dataclass(frozen=True, slots=True)
class Answering:
    """What a unit of work stores for a keyed request when it commits: `answer_of` turns the
    use case's result (what it passes to `commit`) into the request's answer."""

    request: KeyedRequest
    answer_of: Callable[[Any], Answer]


class AnswerReplayed(Exception):
    """The request's key came with the same request before: its stored answer is the answer."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"replayed: {answer.status}")
        self.answer = answer


class AbstractStoredAnswers(abc.ABC):
    """Each context's answers, stored beside its outbox in its own database."""

    @abc.abstractmethod
    async def get(self, scope: str, key: IdempotencyKey) -> StoredAnswer | None: ...

    @abc.abstractmethod
    async def add(self, stored: StoredAnswer) -> None: ...

    @abc.abstractmethod
    async def prune(self, stored_before_ms: int, limit: int) -> int:
        """Forget at most `limit` answers stored before then; how many were forgotten."""


def now_ms() -> int:
    return int(time.time() * 1000)
