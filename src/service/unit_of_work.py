"""The unit of work: one transaction, carrying the repositories that work inside it."""

import abc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import ClassVar, Literal, Protocol, Self

from domain.events import DomainEvent, RecordsEvents
from domain.idempotency import IdempotencyKeyReused
from service.idempotency import (
    AbstractStoredAnswers,
    Answering,
    AnswerReplayed,
    KeyedRequest,
    StoredAnswer,
    now_ms,
)
from service.outbox import AbstractOutbox, OutboxBell
from service.retry import RetryCounters, RetrySettings
from service.tracing import OpenSpan, Tracing

# How current a read-only unit of work's reads are. "leader": what the node it reads from has
# committed, which a leader cut off from the others can still answer for an election timeout
# after the others have moved on. "linearizable": no older than the moment the read began,
# or refused (on dqlite, a write committed through a quorum first: adapters/barrier.py).
type Consistency = Literal["leader", "linearizable"]


class AbstractUnitOfWork(abc.ABC):
    """`async with uow:` opens a transaction; only `await uow.commit()` makes it durable.

    Leaving the block without committing, normally or by an exception, rolls back.
    `async with uow.read_only():` opens a transaction that only reads: on dqlite it does
    not wait for the single writer's lock, and any attempt to write fails. With
    `snapshot=False` no transaction is opened: each statement reads the latest commit. For a
    use case that reads with one statement a snapshot adds nothing, and on dqlite it costs a
    round trip before (BEGIN) and one after (ROLLBACK). With `consistency="linearizable"`
    the reads see every write acknowledged before they began, or fail (see Consistency).

    Each bounded context subclasses it (service/contexts.py), declaring the repositories of
    its aggregates; the implementation builds them from adapters/contexts.py, and opens and
    ends the transaction in `_begin()` and `_end()`.

    Given `answering` (a request sent with an idempotency key), a read-write transaction
    first looks for the key's stored answer: there, it raises AnswerReplayed (the same
    request) or IdempotencyKeyReused (another); otherwise `commit(result)` stores the answer
    to `result` in the same transaction, so the answer exists exactly when the change does.
    """

    outbox: AbstractOutbox  # the domain events stored with this transaction's changes
    answers: AbstractStoredAnswers  # the answers of the requests sent with a key
    answering: Answering | None = None

    context_name: ClassVar[str] = ""  # its context's class, when an implementation's differs
    reading_only: bool = False
    reading_snapshot: bool = True  # while reading only: in one transaction
    reading_consistency: Consistency = "leader"  # while reading only

    def __init__(
        self,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        outbox_bell: OutboxBell | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.retry_settings = retry_settings or RetrySettings()
        self.retry_counters = retry_counters or RetryCounters()
        self._collected: list[DomainEvent] = []
        self._stored_events = False
        self._answered = False  # the answer to `answering` is stored and committed
        # The store gives every unit of work of a context the same bell (its relay listens).
        self.outbox_bell = outbox_bell or OutboxBell()
        self.tracing = tracing or Tracing()
        self.span: OpenSpan | None = None  # this transaction's, while tracing

    async def __aenter__(self) -> Self:
        if self.tracing.on:
            name = self.context_name or type(self).__name__
            self.span = self.tracing.open(f"unit of work {name}", self._facts())
        try:
            await self._begin()
        except BaseException as error:  # the caller's `async with` never began
            self._end_span(error)
            raise
        self._collected, self._stored_events = [], False
        if self.answering is not None and not (self.reading_only or self._answered):
            try:
                await self._replay_if_answered(self.answering.request)
            except BaseException as error:
                await self.__aexit__(type(error), error, error.__traceback__)
                raise
        return self

    @abc.abstractmethod
    async def _begin(self) -> None:
        """Open the transaction and put its repositories in place; on failure, leave nothing
        open (`_end()` will not run)."""

    async def _replay_if_answered(self, request: KeyedRequest) -> None:
        stored = await self.answers.get(request.scope, request.key)
        if stored is None:
            return
        if stored.request.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused(request.key)
        raise AnswerReplayed(stored.answer)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._end(exc_type, exc, traceback)
        finally:
            self._end_span(exc)

    async def _end(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back what was not committed and give the transaction up (implementations
        extend it)."""
        self._collected = []
        await self.rollback()

    def _facts(self) -> dict[str, str | bool]:
        if not self.reading_only:
            return {"app.read_only": False}
        return {"app.read_only": True, "app.read_consistency": self.reading_consistency}

    def _end_span(self, error: BaseException | None) -> None:
        if self.span is not None:
            span, self.span = self.span, None
            span.end(error)

    def collect(self, *aggregates: RecordsEvents) -> None:
        """Take the events these aggregates recorded: `commit()` stores them in the outbox, in
        the same transaction as the changes, so an event exists exactly when its change does."""
        for aggregate in aggregates:
            self._collected += aggregate.events
            aggregate.events.clear()

    async def _store_collected_events(self) -> None:
        """For implementations: call first thing in `commit()`, then `_store_answer()`."""
        if self._collected:
            events, self._collected = self._collected, []
            await self.outbox.add(events, trace_context=self.tracing.carrier())
            self._stored_events = True

    async def _store_answer(self, result: object) -> None:
        """For implementations: call in `commit()`, before the transaction commits."""
        if self.answering is not None and not self._answered:
            answer = self.answering.answer_of(result)
            await self.answers.add(StoredAnswer(self.answering.request, answer, now_ms()))

    def _committed(self) -> None:
        """For implementations: call once `commit()` is durable. (Without it, the relay still
        finds the events, at its next idle poll.)"""
        if self.answering is not None:
            self._answered = True  # later transactions of the use case answer nothing more
        if self._stored_events:
            self._stored_events = False
            self.outbox_bell.ring()

    @asynccontextmanager
    async def read_only(
        self, *, snapshot: bool = True, consistency: Consistency = "leader"
    ) -> AsyncIterator[Self]:
        self.reading_only, self.reading_snapshot = True, snapshot
        self.reading_consistency = consistency
        try:
            async with self:
                yield self
        finally:
            self.reading_only, self.reading_snapshot = False, True
            self.reading_consistency = "leader"

    @abc.abstractmethod
    async def commit(self, result: object = None) -> None:
        """Make the transaction durable. `result`: what the use case answers, stored with the
        request's idempotency key when it has one (see `answering`)."""

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Discard what was not committed; harmless after a commit."""


type UnitOfWorkFactory = Callable[[], AbstractUnitOfWork]


class UnitsOfWork(Protocol):
    """Opens a new unit of work of the context asked for: `units(BillingUnitOfWork)`."""

    def __call__[U: AbstractUnitOfWork](self, context: type[U], /) -> U: ...
