"""Group commit on a real dqlite node: queued writers share one transaction and one COMMIT,
and each still keeps or loses only its own changes; each bounded context's writers group in
their own database.

Like test_unit_of_work_sql.py, these run on the tests' own ledger and contexts and read what
was stored with plain SQL through an engine of their own.
"""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from dqliteclient.protocol import DqliteProtocol
from dqlitedbapi import OperationalError as DriverOperationalError
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.dqlite import group_commit
from adapters.dqlite.group_commit import GroupCommit
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from adapters.dqlite.writers import WriterQueue
from domain.errors import AlreadyExists
from service.errors import StoreUnavailable
from service.unit_of_work import AbstractUnitOfWork
from tests.contract.harness import THINGS_CONTEXTS, OtherThingsUnitOfWork, ThingsUnitOfWork, Wrote
from tests.dqlite import fresh_store
from tests.ledger.model import Account, accounts_of
from tests.ledger.storage import REGISTRATIONS

SQLITE_IOERR_NOT_LEADER = 10250  # what a deposed leader answers


class Boom(Exception):
    pass


@pytest.fixture
def engine(ledger_engine: AsyncEngine) -> AsyncEngine:
    return ledger_engine


def grouped(
    engine: AsyncEngine, writers: WriterQueue | None = None
) -> Callable[[], SqlAlchemyUnitOfWork]:
    """Units of work as the store builds them: queued writers, committing as a group."""
    writers = writers or WriterQueue()
    group = GroupCommit(engine, writers)
    return lambda: SqlAlchemyUnitOfWork(
        engine, registrations=REGISTRATIONS, writers=writers, group=group
    )


async def stored_owners(engine: AsyncEngine) -> list[str]:
    reader = create_async_engine(engine.url)
    try:
        async with reader.connect() as connection:
            result = await connection.execute(text("SELECT owner FROM ledger_accounts"))
            return sorted(row[0] for row in result)
    finally:
        await reader.dispose()


def count_commits(engine: AsyncEngine) -> list[int]:
    commits = [0]

    def counted(connection: object) -> None:
        commits[0] += 1

    event.listen(engine.sync_engine, "commit", counted)
    return commits


async def test_concurrent_writers_share_a_commit_and_each_keeps_only_its_own_changes(
    engine: AsyncEngine,
) -> None:
    new_unit_of_work = grouped(engine)
    async with new_unit_of_work() as uow:
        await accounts_of(uow).add(Account(1, "taken", 0))
        await uow.commit()
    commits = count_commits(engine)

    async def write(n: int) -> str:
        uow = new_unit_of_work()
        async with uow:
            await accounts_of(uow).add(Account(100 + n, f"kept-{n:02}", 0))
            if n % 3 == 1:
                raise Boom  # its account must not be stored
            if n % 3 == 2:
                await accounts_of(uow).add(Account(1, "duplicate", 0))  # AlreadyExists
            await uow.commit()
        return "committed"

    outcomes = await asyncio.gather(*(write(n) for n in range(30)), return_exceptions=True)

    assert [type(o).__name__ for o in outcomes[:3]] == ["str", "Boom", "AlreadyExists"]
    assert all(isinstance(o, AlreadyExists) for o in outcomes[2::3])
    assert await stored_owners(engine) == sorted(
        ["taken", *(f"kept-{n:02}" for n in range(0, 30, 3))]
    )
    assert 1 <= commits[0] < 10  # ten writers committed, sharing fewer COMMITs than that


async def test_a_writer_whose_statement_breaks_the_shared_transaction_fails_its_members(
    engine: AsyncEngine,
) -> None:
    """Nothing of the shared transaction was replicated, so the writers that were waiting
    for its COMMIT are refused (and may try again), and the writer queued after the break
    commits in a new one."""

    def deposed_leader_on_breaking_insert(
        connection: object, cursor: object, statement: str, parameters: Any, *args: object
    ) -> None:
        if "INSERT" in statement and "breaks" in str(parameters):
            cause = DriverOperationalError("not leader", code=SQLITE_IOERR_NOT_LEADER)
            raise OperationalError(statement, parameters, cause)

    event.listen(engine.sync_engine, "before_cursor_execute", deposed_leader_on_breaking_insert)
    new_unit_of_work = grouped(engine)

    async def write(owner: str) -> str:
        uow = new_unit_of_work()
        async with uow:
            await accounts_of(uow).add(Account(len(owner) * 7 + ord(owner[0]), owner, 0))
            await uow.commit()
        return owner

    outcomes = await asyncio.gather(
        *(write(owner) for owner in ("first", "second", "breaks", "after")),
        return_exceptions=True,
    )

    assert [type(o).__name__ for o in outcomes] == [
        "StoreUnavailable",
        "StoreUnavailable",
        "StoreUnavailable",
        "str",
    ]
    assert all("before its COMMIT" in str(o) for o in outcomes[:2])
    assert await stored_owners(engine) == ["after"]


async def test_a_writer_refused_for_a_row_of_its_group_is_told_only_once_the_row_is_stored(
    engine: AsyncEngine,
) -> None:
    """A key taken by an earlier member of the batch is not taken until its COMMIT: if that
    COMMIT fails, the refused writer must not hear "already exists" of a row never stored."""

    def deposed_leader_at_commit(connection: object) -> None:
        cause = DriverOperationalError("not leader", code=SQLITE_IOERR_NOT_LEADER)
        raise OperationalError("COMMIT", {}, cause)

    event.listen(engine.sync_engine, "commit", deposed_leader_at_commit)
    new_unit_of_work = grouped(engine)

    async def write(owner: str) -> str:
        uow = new_unit_of_work()
        async with uow:
            await accounts_of(uow).add(Account(5, owner, 0))
            await uow.commit()
        return owner

    outcomes = await asyncio.gather(write("first"), write("same key"), return_exceptions=True)

    event.remove(engine.sync_engine, "commit", deposed_leader_at_commit)
    assert not any(isinstance(o, AlreadyExists) for o in outcomes), outcomes
    assert isinstance(outcomes[1], StoreUnavailable), outcomes
    assert await stored_owners(engine) == []


async def test_work_after_a_grouped_commit_is_a_transaction_of_its_own(
    engine: AsyncEngine,
) -> None:
    new_unit_of_work = grouped(engine)
    uow = new_unit_of_work()
    with pytest.raises(Boom):
        async with uow:
            await accounts_of(uow).add(Account(1, "committed", 0))
            await uow.commit()
            await accounts_of(uow).add(Account(2, "dropped", 0))
            raise Boom
    async with uow:
        await accounts_of(uow).add(Account(3, "again", 0))
        await uow.commit()

    assert await stored_owners(engine) == ["again", "committed"]


async def test_a_writer_cancelled_as_the_turn_reaches_it_leaves_no_member_without_commit(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committed member handed the turn to the next writer, which then went away (its
    request cancelled): the closer queued behind it commits the shared transaction."""
    monkeypatch.setattr(group_commit, "MAX_SECONDS", 60.0)  # no batch ends for its age here

    class CancelsTheNextWriterOnHandover(WriterQueue):
        next_writer: asyncio.Task[None] | None = None

        def leave(self) -> None:
            super().leave()
            if self.next_writer is not None:
                self.next_writer.cancel()
                self.next_writer = None

    writers = CancelsTheNextWriterOnHandover()
    new_unit_of_work = grouped(engine, writers)

    first_holds_the_turn, second_queued = asyncio.Event(), asyncio.Event()

    async def write(id: int, owner: str, queued_behind: asyncio.Event | None = None) -> None:
        async with new_unit_of_work() as uow:
            await accounts_of(uow).add(Account(id, owner, 0))
            if queued_behind is not None:
                first_holds_the_turn.set()
                await queued_behind.wait()
            await uow.commit()

    first = asyncio.create_task(write(1, "first", second_queued))
    await asyncio.wait_for(first_holds_the_turn.wait(), timeout=5)
    writers.next_writer = second = asyncio.create_task(write(2, "cancelled"))
    async with asyncio.timeout(5):
        # The queue has no event for a writer queuing: its count is polled.
        while writers.queued != 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    second_queued.set()

    await asyncio.wait_for(first, timeout=5)
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await stored_owners(engine) == ["first"]
    async with new_unit_of_work() as uow:  # the turn is free again
        await accounts_of(uow).add(Account(3, "later", 0))
        await uow.commit()
    assert await stored_owners(engine) == ["first", "later"]


async def test_a_committer_cancelled_during_the_commit_frees_the_turn_and_answers_the_others(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer that sends its batch's COMMIT is cancelled while it waits for it. Alone in
    the batch, it takes the COMMIT down with it and the turn is free again; with another
    member, the COMMIT goes on, and that member is told its changes are stored."""
    monkeypatch.setattr(group_commit, "MAX_SECONDS", 60.0)  # no batch ends for its age here
    original = GroupCommit._commit
    committing, gate = asyncio.Event(), asyncio.Event()

    async def held(self: GroupCommit, shared: group_commit.SharedTransaction) -> None:
        committing.set()
        await gate.wait()
        await original(self, shared)

    monkeypatch.setattr(GroupCommit, "_commit", held)
    writers = WriterQueue()
    new_unit_of_work = grouped(engine, writers)

    async def write(id: int, owner: str, before_commit: asyncio.Event | None = None) -> str:
        async with new_unit_of_work() as uow:
            await accounts_of(uow).add(Account(id, owner, 0))
            if before_commit is not None:
                await before_commit.wait()
            await uow.commit()
        return owner

    alone = asyncio.create_task(write(1, "alone"))
    await asyncio.wait_for(committing.wait(), timeout=5)
    alone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await alone
    gate.set()
    assert await asyncio.wait_for(write(2, "after"), timeout=5)
    assert await stored_owners(engine) == ["after"]

    committing.clear()
    gate.clear()
    second_queued = asyncio.Event()
    first = asyncio.create_task(write(3, "kept", before_commit=second_queued))
    await asyncio.sleep(0.1)  # the first holds the turn
    second = asyncio.create_task(write(4, "cancelled"))
    async with asyncio.timeout(5):
        while writers.queued != 1:  # noqa: ASYNC110 (the queue has no event for this)
            await asyncio.sleep(0.01)
    second_queued.set()
    await asyncio.wait_for(committing.wait(), timeout=5)  # the second sends the COMMIT
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    gate.set()

    assert await asyncio.wait_for(first, timeout=5) == "kept"
    assert await stored_owners(engine) == [
        "after",
        "cancelled",
        "kept",
    ]


async def test_a_writer_cancelled_mid_statement_fails_its_batch_and_the_next_commits(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy drops a connection whose statement was interrupted; the writers waiting for
    that transaction's COMMIT are refused (no COMMIT was sent), and the queue goes on."""
    original = DqliteProtocol.exec_sql

    async def cut_short(self: DqliteProtocol, *args: Any, **kwargs: Any) -> Any:
        if "cut short" in str(args):
            raise asyncio.CancelledError  # as a cancelled request's statement would be
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(DqliteProtocol, "exec_sql", cut_short)
    new_unit_of_work = grouped(engine)

    async def write(id: int, owner: str) -> str:
        async with new_unit_of_work() as uow:
            await accounts_of(uow).add(Account(id, owner, 0))
            await uow.commit()
        return owner

    outcomes = await asyncio.gather(
        write(1, "first"), write(2, "cut short"), write(3, "after"), return_exceptions=True
    )

    assert [type(o).__name__ for o in outcomes] == ["StoreUnavailable", "CancelledError", "str"]
    assert await stored_owners(engine) == ["after"]


async def stored_events(engine: AsyncEngine) -> list[str]:
    """What the Wrote events in `engine`'s database say, read with plain SQL."""
    reader = create_async_engine(engine.url)
    try:
        async with reader.connect() as connection:
            result = await connection.execute(text("SELECT name, payload FROM outbox_events"))
            return sorted(json.loads(row[1])["what"] for row in result if row[0] == "Wrote")
    finally:
        await reader.dispose()


async def test_each_context_s_concurrent_writers_commit_in_groups_in_its_own_database(
    dqlite_node: DqliteNode,
) -> None:
    contexts: list[type[AbstractUnitOfWork]] = [ThingsUnitOfWork, OtherThingsUnitOfWork]
    async with fresh_store(dqlite_node, contexts=THINGS_CONTEXTS) as store:
        commits = {c: count_commits(store.databases[c].engine) for c in contexts}

        async def write(context: type[AbstractUnitOfWork], n: int) -> None:
            async with store.unit_of_work(context) as uow:
                await uow.outbox.add([Wrote(f"{context.__name__} {n:02}")])
                await uow.commit()

        await asyncio.gather(*(write(c, n) for n in range(20) for c in contexts))

        for context in contexts:
            written = [f"{context.__name__} {n:02}" for n in range(20)]
            assert await stored_events(store.databases[context].engine) == written
            assert 1 <= commits[context][0] < 20, commits  # twenty writers, fewer COMMITs
