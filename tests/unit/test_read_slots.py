"""Read-only units of work on dqlite wait for a read slot, first come first served, and give it
back however they end (SQLAlchemy's pool would let a newcomer take a connection first)."""

import asyncio
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork


class ReadConnection:
    """Stands for a read-only connection; its BEGIN fails when told to."""

    def __init__(self, begin_fails: bool = False, begin_hangs: bool = False) -> None:
        self.begin_fails = begin_fails
        self.begin_hangs = begin_hangs

    async def execute(self, statement: object, parameters: object = None) -> None:
        if self.begin_fails:
            raise RuntimeError("the node went away")
        if self.begin_hangs:
            await asyncio.Event().wait()

    async def rollback(self) -> None:
        pass

    async def close(self) -> None:
        pass


class Engine:
    """Stands for an engine: hands out `connection`, or refuses to connect at all."""

    def __init__(self, connection: ReadConnection | None = None) -> None:
        self._connection = connection

    async def connect(self) -> ReadConnection:
        if self._connection is None:
            raise AssertionError("a read-only unit of work writes nothing")
        return self._connection


def reader(
    slots: asyncio.Semaphore, connection: ReadConnection | None = None
) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(
        cast(AsyncEngine, Engine()),
        read_engine=cast(AsyncEngine, Engine(connection or ReadConnection())),
        read_slots=slots,
    )


async def test_readers_beyond_the_slots_wait_and_go_in_the_order_they_came() -> None:
    slots, order, inside = asyncio.Semaphore(2), [], []

    async def read(name: str) -> None:
        async with reader(slots).read_only():
            order.append(name)
            inside.append(name)
            await asyncio.sleep(0.01)
            inside.remove(name)
        await asyncio.sleep(0)  # and at once asks again: it must queue behind the others
        if len(order) < 8:
            await read(name.upper())

    async def at_most_two_inside() -> None:
        while len(order) < 8:
            assert len(inside) <= 2
            await asyncio.sleep(0.001)

    await asyncio.gather(*(read(name) for name in "abcd"), at_most_two_inside())

    assert order[:4] == list("abcd")
    assert order[4:6] == ["A", "B"]  # back in line behind c and d, not ahead of them
    assert not slots.locked()


async def test_a_reader_whose_begin_fails_gives_its_slot_back() -> None:
    slots = asyncio.Semaphore(1)
    with pytest.raises(RuntimeError, match="went away"):
        async with reader(slots, ReadConnection(begin_fails=True)).read_only():
            pass

    assert not slots.locked()


async def test_a_reader_cancelled_during_its_begin_gives_its_slot_back() -> None:
    slots = asyncio.Semaphore(1)

    async def read() -> None:
        async with reader(slots, ReadConnection(begin_hangs=True)).read_only():
            pass

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read(), 0.05)

    assert not slots.locked()
