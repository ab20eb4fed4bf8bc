"""The unit-of-work rules, for every backend and every registered aggregate, each in the unit
of work of its bounded context.

The rule under test: only `await uow.commit()` makes changes durable; leaving the
`async with` block without it, normally or by an exception, discards them. And each context
is a database of its own: its writers take turns among themselves, not with another's.
"""

import asyncio
from typing import Any

import pytest

from service.unit_of_work import AbstractUnitOfWork, UnitsOfWork
from tests.contract.harness import AggregateProbe, OtherThingsUnitOfWork, ThingsUnitOfWork, Wrote

Probe = AggregateProbe[Any, Any]


class Boom(Exception):
    pass


async def stored(units: UnitsOfWork, aggregate: Probe, item: object) -> object:
    async with units(aggregate.context).read_only() as uow:
        return await aggregate.get(uow, item)


async def test_committed_changes_are_seen_by_the_next_unit_of_work(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    async with units(aggregate.context) as uow:
        await aggregate.add(uow, item)
        await uow.commit()

    assert await stored(units, aggregate, item) == item


async def test_leaving_without_commit_discards_changes(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    async with units(aggregate.context) as uow:
        await aggregate.add(uow, item)
        assert await aggregate.get(uow, item) == item  # visible inside its own unit of work

    assert await stored(units, aggregate, item) is None


async def test_an_exception_discards_every_change_and_propagates(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    first, second = aggregate.sample(1), aggregate.sample(2)
    with pytest.raises(Boom):
        async with units(aggregate.context) as uow:
            await aggregate.add(uow, first)
            await aggregate.add(uow, second)
            raise Boom

    assert await stored(units, aggregate, first) is None
    assert await stored(units, aggregate, second) is None


async def test_an_exception_after_a_commit_keeps_what_was_committed(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    kept, dropped = aggregate.sample(1), aggregate.sample(2)
    with pytest.raises(Boom):
        async with units(aggregate.context) as uow:
            await aggregate.add(uow, kept)
            await uow.commit()
            await aggregate.add(uow, dropped)
            raise Boom

    assert await stored(units, aggregate, kept) == kept
    assert await stored(units, aggregate, dropped) is None


async def test_uncommitted_changes_are_invisible_to_another_unit_of_work(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    async with units(aggregate.context) as writer:
        await aggregate.add(writer, item)
        assert await stored(units, aggregate, item) is None
        await writer.commit()

    assert await stored(units, aggregate, item) == item


async def test_a_unit_of_work_can_be_reused_for_a_second_transaction(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    first, second = aggregate.sample(1), aggregate.sample(2)
    uow = units(aggregate.context)
    async with uow:
        await aggregate.add(uow, first)
        await uow.commit()
    async with uow:
        await aggregate.add(uow, second)

    assert await stored(units, aggregate, first) == first
    assert await stored(units, aggregate, second) is None


async def test_a_read_only_unit_of_work_refuses_to_write_and_stores_nothing(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    with pytest.raises(Exception, match=r"(?i)read.?only"):
        async with units(aggregate.context).read_only() as uow:
            await aggregate.add(uow, item)
            await uow.commit()

    assert await stored(units, aggregate, item) is None


async def test_a_unit_of_work_writes_again_after_a_read_only_transaction(
    units: UnitsOfWork, aggregate: Probe
) -> None:
    item = aggregate.sample(1)
    uow = units(aggregate.context)
    async with uow.read_only():
        assert await aggregate.get(uow, item) is None
    async with uow:
        await aggregate.add(uow, item)
        await uow.commit()

    assert await stored(units, aggregate, item) == item


@pytest.mark.parametrize("snapshot", [True, False], ids=["snapshot", "one-statement"])
async def test_a_linearizable_read_sees_every_commit_made_before_it_and_writes_nothing(
    thing_units: UnitsOfWork, snapshot: bool
) -> None:
    await write(thing_units, ThingsUnitOfWork, "before")

    uow = thing_units(ThingsUnitOfWork)
    async with uow.read_only(snapshot=snapshot, consistency="linearizable"):
        seen = [e.payload["what"] for e in await uow.outbox.undelivered(100)]
        with pytest.raises(Exception, match=r"(?i)read.?only"):
            await uow.outbox.add([Wrote("inside")])

    assert seen == ["before"]
    assert uow.reading_consistency == "leader"  # the next read is the default again
    assert await written(thing_units, ThingsUnitOfWork) == ["before"]


async def write(units: UnitsOfWork, context: type[AbstractUnitOfWork], what: str) -> None:
    async with units(context) as uow:
        await uow.outbox.add([Wrote(what)])
        await uow.commit()


async def written(units: UnitsOfWork, context: type[AbstractUnitOfWork]) -> list[str]:
    async with units(context).read_only() as uow:
        return [e.payload["what"] for e in await uow.outbox.undelivered(100)]


async def test_a_write_held_open_in_one_context_does_not_hold_up_a_write_in_another(
    thing_units: UnitsOfWork,
) -> None:
    async with thing_units(ThingsUnitOfWork) as holder:
        await holder.outbox.add([Wrote("held")])
        # Well below the 5 s a writer waits for its turn: the other context's writer must not
        # queue behind this one at all.
        await asyncio.wait_for(write(thing_units, OtherThingsUnitOfWork, "other"), timeout=2)
        assert await written(thing_units, OtherThingsUnitOfWork) == ["other"]
        await holder.commit()

    assert await written(thing_units, ThingsUnitOfWork) == ["held"]


async def test_two_writers_of_one_context_still_take_turns(thing_units: UnitsOfWork) -> None:
    async with thing_units(ThingsUnitOfWork) as holder:
        await holder.outbox.add([Wrote("first")])
        second = asyncio.create_task(write(thing_units, ThingsUnitOfWork, "second"))
        await asyncio.sleep(0.3)
        assert not second.done()  # it waits for the first writer's turn
        assert await written(thing_units, ThingsUnitOfWork) == []
        await holder.commit()
    await asyncio.wait_for(second, timeout=4)

    assert await written(thing_units, ThingsUnitOfWork) == ["first", "second"]
