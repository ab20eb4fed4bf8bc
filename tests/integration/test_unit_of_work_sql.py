"""What only the SQL unit of work on a real dqlite node can show: atomicity and isolation,
and the bounded contexts' databases apart, each with its one writer.

The contract suite (tests/contract) already holds both backends to the commit/rollback rules;
these tests read the table with plain SQL through an engine of their own, so nothing the
unit of work caches can hide what was really stored. They run on the tests' own ledger
(tests/ledger) and contexts (tests/contract/harness.py), so they keep working in a fork
without the example aggregates.
"""

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)

from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import DqliteStore
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from domain.errors import AlreadyExists
from domain.principals import Principal
from service.errors import StoreUnavailable
from service.idempotency import AnswerReplayed
from service.retry import retried
from service.unit_of_work import AbstractUnitOfWork
from tests.answering import answer_of, answering
from tests.contract.harness import THINGS_CONTEXTS, OtherThingsUnitOfWork, ThingsUnitOfWork, Wrote
from tests.dqlite import fresh_store
from tests.ledger.model import Account, Transfer, accounts_of, transfers_of
from tests.ledger.storage import REGISTRATIONS


class SimulatedFailureError(Exception):
    """Raised by a test in the middle of a unit of work."""


@pytest.fixture
def engine(ledger_engine: AsyncEngine) -> AsyncEngine:
    return ledger_engine


def unit_of_work(engine: AsyncEngine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(engine, registrations=REGISTRATIONS)


async def rows_in_table(engine: AsyncEngine) -> list[tuple[int, str]]:
    """The accounts table as stored, read by a separate engine with plain SQL."""
    reader = create_async_engine(engine.url)
    try:
        async with reader.connect() as connection:
            result = await connection.execute(
                text("SELECT id, owner FROM ledger_accounts ORDER BY id")
            )
            return [(row[0], row[1]) for row in result]
    finally:
        await reader.dispose()


async def test_an_exception_after_two_adds_leaves_neither_row(engine: AsyncEngine) -> None:
    uow = unit_of_work(engine)

    async def add_two_then_fail() -> None:
        async with uow:
            await accounts_of(uow).add(Account(1, "first", 1))
            await accounts_of(uow).add(Account(2, "second", 2))
            # Both INSERTs ran in the database's transaction: they read back within it.
            assert None not in [await accounts_of(uow).get(1), await accounts_of(uow).get(2)]
            raise SimulatedFailureError

    with pytest.raises(SimulatedFailureError):
        await add_two_then_fail()

    assert await rows_in_table(engine) == []


async def test_a_commit_the_database_refuses_leaves_nothing_half_written(
    engine: AsyncEngine,
) -> None:
    # A deferred foreign key is checked at COMMIT: the statements succeed, the commit fails.
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await connection.execute(
            text(
                "CREATE TABLE child (parent_id INTEGER "
                "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER orphan AFTER INSERT ON ledger_accounts WHEN NEW.owner = 'poison' "
                "BEGIN INSERT INTO child VALUES (42); END"
            )
        )
    uow = unit_of_work(engine)

    async def add_two_and_commit() -> None:
        async with uow:
            await accounts_of(uow).add(Account(1, "fine", 0))  # written first
            await accounts_of(uow).add(Account(2, "poison", 0))  # breaks the commit
            await uow.commit()

    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await add_two_and_commit()

    assert await rows_in_table(engine) == []
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM child"))).scalar() == 0
    # The failed transaction released the database: the next writer is not kept waiting.
    started = time.monotonic()
    after = unit_of_work(engine)
    async with after:
        await accounts_of(after).add(Account(1, "after", 0))
        await after.commit()
    assert time.monotonic() - started < 2.5
    assert await rows_in_table(engine) == [(1, "after")]


async def test_a_unit_of_work_that_loses_a_race_for_a_key_keeps_none_of_its_writes(
    engine: AsyncEngine,
) -> None:
    winner, loser = unit_of_work(engine), unit_of_work(engine)

    async def lose() -> None:
        async with loser:
            await accounts_of(loser).add(Account(2, "loser-only", 0))  # must not stay
            await accounts_of(loser).add(Account(1, "loser", 0))
            await loser.commit()

    async with winner:
        await accounts_of(winner).add(Account(1, "winner", 0))
        race = asyncio.create_task(lose())
        await asyncio.sleep(0.2)  # the loser runs while the winner's transaction is open
        await winner.commit()

    with pytest.raises(AlreadyExists):
        await race
    assert await rows_in_table(engine) == [(1, "winner")]


async def test_a_reader_sees_no_uncommitted_write_and_does_not_wait_for_the_writer(
    engine: AsyncEngine,
) -> None:
    writer, reader = unit_of_work(engine), unit_of_work(engine)

    async def look() -> tuple[Account | None, tuple[list[Transfer], int]]:
        async with reader.read_only():
            return await accounts_of(reader).get(1), await transfers_of(reader).page(10, 0)

    async with writer:
        await accounts_of(writer).add(Account(1, "draft", 0))  # never committed
        # Had the reader queued behind the write lock it would wait for this very task:
        # the bound (below the 5 s busy timeout) turns that deadlock into a failure.
        seen = await asyncio.wait_for(look(), timeout=4)
        # leaving without commit rolls the write back

    assert seen == (None, ([], 0))
    assert await rows_in_table(engine) == []


async def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_the_store_is_unavailable(
    engine: AsyncEngine,
) -> None:
    impatient_engine = create_async_engine(engine.url, connect_args={"busy_timeout": 0.2})
    holder, impatient = unit_of_work(engine), unit_of_work(impatient_engine)
    try:
        async with holder:
            await accounts_of(holder).add(Account(1, "first", 0))
            with pytest.raises(StoreUnavailable, match="locked"):
                async with impatient:
                    await accounts_of(impatient).add(Account(2, "second", 0))
                    await impatient.commit()
            await holder.commit()
    finally:
        await impatient_engine.dispose()

    assert await rows_in_table(engine) == [(1, "first")]


async def note_impatiently(engine: AsyncEngine, what: str) -> None:
    """Store an event straight into `engine`'s database, as another process would (no queue
    of this process's writers to wait in), waiting at most 0.2 s for its write lock."""
    impatient_engine = create_async_engine(engine.url, connect_args={"busy_timeout": 0.2})
    uow = SqlAlchemyUnitOfWork(impatient_engine)
    try:
        async with uow:
            await uow.outbox.add([Wrote(what)])
            await uow.commit()
    finally:
        await impatient_engine.dispose()


async def noted(store: DqliteStore, context: type[AbstractUnitOfWork]) -> list[str]:
    async with store.unit_of_work(context).read_only() as uow:
        return [event.payload["what"] for event in await uow.outbox.undelivered(10)]


async def test_each_context_is_a_dqlite_database_with_a_write_lock_of_its_own(
    dqlite_node: DqliteNode,
) -> None:
    """dqlite has one writer per database: a transaction held open in one context's database
    keeps another writer of that database waiting (here past its busy timeout), not a writer
    of another context's, which commits at once."""
    async with fresh_store(dqlite_node, contexts=THINGS_CONTEXTS) as store:
        things = store.databases[ThingsUnitOfWork]
        others = store.databases[OtherThingsUnitOfWork]
        assert things.name != others.name
        async with store.unit_of_work(ThingsUnitOfWork) as holder:
            await holder.outbox.add([Wrote("held")])  # the things database's write lock
            started = time.monotonic()
            await asyncio.wait_for(note_impatiently(others.engine, "other"), timeout=2)
            assert time.monotonic() - started < 1
            with pytest.raises(StoreUnavailable, match="locked"):
                await note_impatiently(things.engine, "queued")
            await holder.commit()

        assert await noted(store, ThingsUnitOfWork) == ["held"]
        assert await noted(store, OtherThingsUnitOfWork) == ["other"]


async def test_a_read_only_unit_of_work_reads_one_snapshot_unless_it_asks_for_none(
    dqlite_node: DqliteNode,
) -> None:
    """With a snapshot (the default), a write committed between two reads is not seen by the
    second; without one (a single-statement read's choice: no BEGIN), it is."""
    async with fresh_store(dqlite_node, contexts=THINGS_CONTEXTS) as store:
        seen = {}
        for snapshot in (True, False):
            async with store.unit_of_work(ThingsUnitOfWork).read_only(snapshot=snapshot) as uow:
                before = len(await uow.outbox.undelivered(10))
                async with store.unit_of_work(ThingsUnitOfWork) as writer:
                    await writer.outbox.add([Wrote(f"during {snapshot}")])
                    await writer.commit()
                seen[snapshot] = len(await uow.outbox.undelivered(10)) - before

    assert seen == {True: 0, False: 1}


ALICE = Principal("alice")


class AmbiguousCommitError(Exception):
    """Named as dqlite-dbapi's: the unit of work classifies by class name."""


async def test_a_keyed_commit_whose_answer_is_lost_is_retried_and_answered_from_what_it_stored(
    dqlite_node: DqliteNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when leadership moves during the COMMIT: it landed, its answer did not. The use
    case is retried (it answers under a key), finds its stored answer, and changes nothing."""
    commit = AsyncConnection.commit
    lost: list[bool] = []

    async def commit_then_lose_the_answer(connection: AsyncConnection) -> None:
        await commit(connection)
        if not lost:
            lost.append(True)
            raise OperationalError("COMMIT", {}, AmbiguousCommitError())

    monkeypatch.setattr(AsyncConnection, "commit", commit_then_lose_the_answer)
    async with fresh_store(dqlite_node, contexts=THINGS_CONTEXTS) as store:

        @retried(idempotent=False)
        async def record(uow: ThingsUnitOfWork) -> str:
            async with uow:
                await uow.outbox.add([Wrote("once")])
                await uow.commit("recorded")
            return "recorded"

        with pytest.raises(AnswerReplayed) as replayed:
            await record(answering(store.unit_of_work(ThingsUnitOfWork), ALICE, "k1", "once"))
        async with store.unit_of_work(ThingsUnitOfWork).read_only() as uow:
            events = await uow.outbox.undelivered(10)

    assert lost == [True]
    assert replayed.value.answer == answer_of("recorded")
    assert len(events) == 1


async def test_a_linearizable_read_commits_a_read_barrier_first_and_a_leader_read_does_not(
    dqlite_node: DqliteNode,
) -> None:
    async with fresh_store(dqlite_node, contexts=THINGS_CONTEXTS) as store:
        things = store.databases[ThingsUnitOfWork]

        async def barriers_passed() -> int:
            async with things.engine.connect() as connection:
                return int(await connection.scalar(text("SELECT passed FROM read_barrier")))

        for consistency in ("leader", "linearizable", "linearizable", "leader"):
            async with store.unit_of_work(ThingsUnitOfWork).read_only(consistency=consistency):
                pass
        assert await barriers_passed() == 2


async def test_linearizable_readers_that_come_while_a_barrier_waits_for_its_commit_share_it(
    dqlite_node: DqliteNode,
) -> None:
    async with fresh_store(dqlite_node, contexts=THINGS_CONTEXTS) as store:
        things = store.databases[ThingsUnitOfWork]
        holder = store.unit_of_work(ThingsUnitOfWork)
        async with holder:  # holds the writers' turn: the barriers queue behind it
            await holder.outbox.add([Wrote("held")])
            readers = [asyncio.create_task(things.confirm_leadership()) for _ in range(16)]
            await asyncio.sleep(0.1)
            await holder.commit()
        await asyncio.gather(*readers)
        async with things.engine.connect() as connection:
            passed = await connection.scalar(text("SELECT passed FROM read_barrier"))

    # All 16 queued behind the holder: one barrier per batch they joined (1 here, unless a
    # loaded machine made the batch outlast its 0.1 s), not one each.
    assert 1 <= passed < 16
