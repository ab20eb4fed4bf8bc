"""The unit-of-work rules, for every backend and every registered aggregate.

The rule under test: only `await uow.commit()` makes changes durable; leaving the
`async with` block without it, normally or by an exception, discards them.
"""

from typing import Any

import pytest

from service.unit_of_work import UnitOfWorkFactory
from tests.contract.harness import AggregateProbe

Probe = AggregateProbe[Any]


class Boom(Exception):
    pass


async def stored(uow_factory: UnitOfWorkFactory, aggregate: Probe, item: object) -> object:
    async with uow_factory().read_only() as uow:
        return await aggregate.get(uow, item)


async def test_committed_changes_are_seen_by_the_next_unit_of_work(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    async with uow_factory() as uow:
        await aggregate.add(uow, item)
        await uow.commit()

    assert await stored(uow_factory, aggregate, item) == item


async def test_leaving_without_commit_discards_changes(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    async with uow_factory() as uow:
        await aggregate.add(uow, item)
        assert await aggregate.get(uow, item) == item  # visible inside its own unit of work

    assert await stored(uow_factory, aggregate, item) is None


async def test_an_exception_discards_every_change_and_propagates(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    first, second = aggregate.sample(1), aggregate.sample(2)
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            await aggregate.add(uow, first)
            await aggregate.add(uow, second)
            raise Boom

    assert await stored(uow_factory, aggregate, first) is None
    assert await stored(uow_factory, aggregate, second) is None


async def test_an_exception_after_a_commit_keeps_what_was_committed(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    kept, dropped = aggregate.sample(1), aggregate.sample(2)
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            await aggregate.add(uow, kept)
            await uow.commit()
            await aggregate.add(uow, dropped)
            raise Boom

    assert await stored(uow_factory, aggregate, kept) == kept
    assert await stored(uow_factory, aggregate, dropped) is None


async def test_uncommitted_changes_are_invisible_to_another_unit_of_work(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    async with uow_factory() as writer:
        await aggregate.add(writer, item)
        assert await stored(uow_factory, aggregate, item) is None
        await writer.commit()

    assert await stored(uow_factory, aggregate, item) == item


async def test_a_unit_of_work_can_be_reused_for_a_second_transaction(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    first, second = aggregate.sample(1), aggregate.sample(2)
    uow = uow_factory()
    async with uow:
        await aggregate.add(uow, first)
        await uow.commit()
    async with uow:
        await aggregate.add(uow, second)

    assert await stored(uow_factory, aggregate, first) == first
    assert await stored(uow_factory, aggregate, second) is None


async def test_a_read_only_unit_of_work_refuses_to_write_and_stores_nothing(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    with pytest.raises(Exception, match=r"(?i)read.?only"):
        async with uow_factory().read_only() as uow:
            await aggregate.add(uow, item)
            await uow.commit()

    assert await stored(uow_factory, aggregate, item) is None


async def test_a_unit_of_work_writes_again_after_a_read_only_transaction(
    uow_factory: UnitOfWorkFactory, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    uow = uow_factory()
    async with uow.read_only():
        assert await aggregate.get(uow, item) is None
    async with uow:
        await aggregate.add(uow, item)
        await uow.commit()

    assert await stored(uow_factory, aggregate, item) == item
