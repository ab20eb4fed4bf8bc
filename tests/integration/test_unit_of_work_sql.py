"""What only the SQL unit of work on a real dqlite node can show: atomicity and isolation.

The contract suite (tests/contract) already holds both backends to the commit/rollback rules;
these tests read the table with plain SQL through an engine of their own, so nothing the
unit of work caches can hide what was really stored.
"""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from adapters.dqlite.node import DqliteNode
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from domain.errors import AlreadyExists
from domain.todos import Todo, TodoFilter, TodoKey
from service.unit_of_work import StoreUnavailable
from tests.dqlite import fresh_database


class SimulatedFailureError(Exception):
    """Raised by a test in the middle of a unit of work."""


@pytest.fixture
async def engine(dqlite_node: DqliteNode) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(dqlite_node) as engine:
        yield engine


def unit_of_work(engine: AsyncEngine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(async_sessionmaker(engine, expire_on_commit=False))


async def rows_in_table(engine: AsyncEngine) -> list[tuple[str, str]]:
    """The todos table as stored, read by a separate engine with plain SQL."""
    reader = create_async_engine(engine.url)
    try:
        async with reader.connect() as connection:
            result = await connection.execute(text("SELECT key, value FROM todos ORDER BY key"))
            return [(row[0], row[1]) for row in result]
    finally:
        await reader.dispose()


async def test_an_exception_after_two_adds_leaves_neither_row(engine: AsyncEngine) -> None:
    uow = unit_of_work(engine)

    async def add_two_then_fail() -> None:
        async with uow:
            await uow.todos.add(Todo.create("first", "1"))
            await uow.todos.add(Todo.create("second", "2"))
            # Both INSERTs ran in the database's transaction, not only in the session.
            assert await uow.todos.count(TodoFilter()) == 2
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
                "CREATE TRIGGER orphan AFTER INSERT ON todos WHEN NEW.key = 'poison' "
                "BEGIN INSERT INTO child VALUES (42); END"
            )
        )
    uow = unit_of_work(engine)

    async def add_two_and_commit() -> None:
        async with uow:
            await uow.todos.add(Todo.create("fine", "written first"))
            await uow.todos.add(Todo.create("poison", "breaks the commit"))
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
        await after.todos.add(Todo.create("after", ""))
        await after.commit()
    assert time.monotonic() - started < 2.5
    assert await rows_in_table(engine) == [("after", "")]


async def test_a_unit_of_work_that_loses_a_race_for_a_key_keeps_none_of_its_writes(
    engine: AsyncEngine,
) -> None:
    winner, loser = unit_of_work(engine), unit_of_work(engine)

    async def lose() -> None:
        async with loser:
            await loser.todos.add(Todo.create("loser-only", "must not stay"))
            await loser.todos.add(Todo.create("contested", "loser"))
            await loser.commit()

    async with winner:
        await winner.todos.add(Todo.create("contested", "winner"))
        race = asyncio.create_task(lose())
        await asyncio.sleep(0.2)  # the loser runs while the winner's transaction is open
        await winner.commit()

    with pytest.raises(AlreadyExists):
        await race
    assert await rows_in_table(engine) == [("contested", "winner")]


async def test_a_reader_sees_no_uncommitted_write_and_does_not_wait_for_the_writer(
    engine: AsyncEngine,
) -> None:
    writer, reader = unit_of_work(engine), unit_of_work(engine)

    async def look() -> tuple[Todo | None, int, list[Todo]]:
        async with reader.read_only():
            return (
                await reader.todos.get(TodoKey("draft")),
                await reader.todos.count(TodoFilter()),
                await reader.todos.find(TodoFilter()),
            )

    async with writer:
        await writer.todos.add(Todo.create("draft", "never committed"))
        # Had the reader queued behind the write lock it would wait for this very task:
        # the bound (below the 5 s busy timeout) turns that deadlock into a failure.
        seen = await asyncio.wait_for(look(), timeout=4)
        # leaving without commit rolls the write back

    assert seen == (None, 0, [])
    assert await rows_in_table(engine) == []


async def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_the_store_is_unavailable(
    engine: AsyncEngine,
) -> None:
    impatient_engine = create_async_engine(engine.url, connect_args={"busy_timeout": 0.2})
    holder, impatient = unit_of_work(engine), unit_of_work(impatient_engine)
    try:
        async with holder:
            await holder.todos.add(Todo.create("first", "1"))
            with pytest.raises(StoreUnavailable, match="locked"):
                async with impatient:
                    await impatient.todos.add(Todo.create("second", "2"))
                    await impatient.commit()
            await holder.commit()
    finally:
        await impatient_engine.dispose()

    assert await rows_in_table(engine) == [("first", "1")]
