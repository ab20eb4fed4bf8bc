"""Group commit: this process's queued writers share one dqlite transaction, each inside a
SAVEPOINT of its own, and are acknowledged together by its one COMMIT."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.dqlite.errors import classify
from adapters.dqlite.writers import SiblingWriteLock, WriterQueue
from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable
from service.tracing import Tracing, current_span_context

# A batch ends after this many members, or this long after it began, even with writers still
# queued: its COMMIT acknowledges them all, so the first must not wait on an endless batch.
MAX_MEMBERS = 32
MAX_SECONDS = 0.1


@dataclass(eq=False)
class SharedTransaction:
    """One open dqlite transaction and the units of work whose changes wait for its COMMIT."""

    connection: AsyncConnection
    outcome: asyncio.Future[None]
    began_at: float = field(default_factory=time.monotonic)
    members: int = 0  # units of work that committed into it
    joined: int = 0  # units of work that took part, committed or not
    closer: asyncio.Future[None] | None = None
    member_spans: list[SpanContext] = field(default_factory=list)  # while tracing
    commit_span: SpanContext = INVALID_SPAN_CONTEXT  # the span of its COMMIT, once sent

    @property
    def full(self) -> bool:
        return self.members >= MAX_MEMBERS or time.monotonic() - self.began_at >= MAX_SECONDS


class GroupCommit:
    """Lets each writer that holds the queue's turn into the shared transaction.

    The first writer of a transaction works in it directly (nothing else is in it yet, so its
    rollback rolls back the whole); each later one inside a SAVEPOINT, so a failing unit of
    work rolls back alone. A writer that commits releases its savepoint, hands the turn to the
    next writer, and waits for the COMMIT. The last writer of a batch (nobody else queued, or
    the batch full) sends the COMMIT. A lost COMMIT leaves every member's outcome unknown, as
    a lone unit of work's would; a failure before it refuses every member, since nothing of
    the transaction was replicated. While tracing, the COMMIT is a span of its own (a root:
    it belongs to no one request) linked to the span of each member that joined.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        writers: WriterQueue,
        on_failure: Callable[[], Awaitable[object]] | None = None,
        siblings: SiblingWriteLock | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._engine = engine
        self._tracing = tracing or Tracing()
        self._writers = writers
        self._on_failure = on_failure
        self._siblings = siblings  # the other worker processes' writers, when there are any
        self._current: SharedTransaction | None = None

    def still_open(self, shared: SharedTransaction) -> bool:
        """Whether `shared` is the transaction writers join now: its COMMIT is not sent yet."""
        return shared is self._current

    async def join(self) -> tuple[SharedTransaction, bool]:
        """The shared transaction (opened when there is none), and whether this writer is its
        first: call holding the writers' turn."""
        shared = self._current
        if shared is None:
            if self._siblings is not None:
                await self._siblings.acquire()
            try:
                connection = await self._engine.connect()
            except BaseException:
                self._let_siblings_in()
                raise
            try:
                await connection.begin()  # BEGIN IMMEDIATE: the database's write lock
            except BaseException:
                self._let_siblings_in()
                await connection.invalidate()
                await connection.close()
                raise
            shared = self._current = SharedTransaction(
                connection, asyncio.get_running_loop().create_future()
            )
        first = shared.joined == 0
        shared.joined += 1
        if self._tracing.on:
            shared.member_spans.append(current_span_context())
        return shared, first

    async def leave(self, shared: SharedTransaction, *, committed: bool) -> None:
        """Give up the turn, after the COMMIT when this writer is the batch's last; when it
        committed, return once its changes are durable (or raise why they may not be).

        A writer that did not commit, after others had, may have been refused for what they
        wrote (a key they took): its answer waits for their COMMIT, and if that fails, it is
        refused as unavailable, not for a row that was never stored.
        """
        saw_others = not committed and shared.members > 0
        if committed:
            shared.members += 1
        if shared is self._current and shared.connection.invalidated:  # e.g. a cancelled member
            await self.fail(shared, StoreUnavailable("its connection was lost"))
        elif shared is not self._current:  # already failed
            self._writers.leave()
        elif shared.members and self._writers.queued and not shared.full:
            # The writers queued now join this transaction; the closer, queued behind them,
            # commits it (also when one of them gives up waiting).
            if shared.closer is None:
                shared.closer = asyncio.ensure_future(self._close_after_queue(shared))
            self._writers.leave()
        else:
            self._current = None
            if committed and shared.members == 1:
                # Its only member: nobody else waits for this COMMIT, so no task need shield
                # it from this writer's cancellation (a task and its shield: 30 µs of the loop).
                await self._end(shared)
            else:
                # Shielded: a cancelled writer must not leave the others without their COMMIT.
                await asyncio.shield(asyncio.ensure_future(self._end(shared)))
        if committed:
            try:
                await asyncio.shield(shared.outcome)
            except (StoreUnavailable, OutcomeUnknown) as error:  # each member raises its own
                raise type(error)(*error.args) from error.__cause__
        elif saw_others:
            try:
                await asyncio.shield(shared.outcome)
            except Exception as error:
                raise StoreUnavailable(
                    "the changes this unit of work was refused for were not stored; it changed "
                    "nothing"
                ) from error

    async def fail(self, shared: SharedTransaction, error: Exception) -> None:
        """A member's statement broke the transaction: nothing of it was replicated, so every
        member waiting for the COMMIT is refused, the connection dropped, the turn given up."""
        self._current = None
        self._let_siblings_in()
        self._writers.database_failed(disk_full=isinstance(error, StoreFull))
        if shared.members:
            refusal = StoreUnavailable(f"the shared transaction failed before its COMMIT: {error}")
            shared.outcome.set_exception(refusal)
        else:
            shared.outcome.set_result(None)
        try:
            await _drop(shared.connection)
        finally:
            self._writers.leave()

    async def _close_after_queue(self, shared: SharedTransaction) -> None:
        await self._writers.take_turn()
        if shared is self._current:
            self._current = None
            await self._end(shared)
        else:
            self._writers.leave()

    async def _end(self, shared: SharedTransaction) -> None:
        """COMMIT the batch (ROLLBACK when nobody committed), then give up the turn."""
        if shared.connection.invalidated:  # a member was cut short: no COMMIT can be sent
            await self.fail(shared, StoreUnavailable("its connection was lost"))
            return
        try:
            if not shared.members:
                await shared.connection.rollback()
                await shared.connection.close()
                shared.outcome.set_result(None)
                return
            await self._commit(shared)
        except DBAPIError as error:
            await self._commit_failed(shared, error)
            return
        except BaseException as error:
            if not shared.outcome.done():
                shared.outcome.set_exception(OutcomeUnknown(f"the COMMIT was cut short: {error}"))
            await _drop(shared.connection)
            raise
        finally:
            self._let_siblings_in()
            self._writers.leave()
        shared.outcome.set_result(None)
        self._writers.committed()
        await shared.connection.close()

    async def _commit(self, shared: SharedTransaction) -> None:
        members = {"db.group_commit.members": shared.members}
        root = Context()  # the batch belongs to no one request: each member links to it
        with self._tracing.span(
            "group commit", attributes=members, parent=root, links=shared.member_spans
        ) as span:
            if span is not None:
                shared.commit_span = span.get_span_context()
            await shared.connection.commit()

    async def _commit_failed(self, shared: SharedTransaction, error: DBAPIError) -> None:
        translated = classify(error, during_commit=shared.members > 0) or error
        self._writers.database_failed(disk_full=isinstance(translated, StoreFull))
        if shared.members:
            shared.outcome.set_exception(translated)
        else:
            shared.outcome.set_result(None)
        await _drop(shared.connection)
        if self._on_failure is not None:
            await self._on_failure()

    def _let_siblings_in(self) -> None:
        """The shared transaction ended (or never began): the other workers may write."""
        if self._siblings is not None:
            self._siblings.release()


async def _drop(connection: AsyncConnection) -> None:
    """Close a connection without goodbyes to a node that may not answer."""
    await connection.invalidate()
    await connection.close()
