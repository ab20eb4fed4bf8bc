"""The outbox and its relay, for every backend: an event exists exactly when its change does,
and is delivered at least once, in order per stream, by one relay at a time.

The events here are the tests' own (nothing of the examples), so they hold in a fork too.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import pytest

from domain.events import DomainEvent
from service.messagebus import Handler, MessageBus
from service.relay import OutboxRelay, RelaySettings
from service.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Happened(DomainEvent):
    thing: str
    n: int

    @property
    def stream(self) -> str:
        return f"thing:{self.thing}"


@dataclass
class Thing:
    """An aggregate of the tests: all it does is record events."""

    name: str
    events: list[DomainEvent] = field(default_factory=list)

    def happen(self, n: int) -> None:
        self.events.append(Happened(self.name, n))


class Boom(Exception):
    pass


@dataclass
class Handled:
    """What the handler saw, and which deliveries it is told to fail."""

    seen: list[tuple[str, int]] = field(default_factory=list)
    failures_left: Counter[tuple[str, int]] = field(default_factory=Counter)

    async def __call__(self, event: Happened, uow: AbstractUnitOfWork) -> None:
        if self.failures_left[(event.thing, event.n)] > 0:
            self.failures_left[(event.thing, event.n)] -= 1
            raise Boom(f"{event.thing} {event.n} failed on purpose")
        self.seen.append((event.thing, event.n))


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def relay_of(
    uow_factory: UnitOfWorkFactory,
    handler: Handler,
    holder: str = "relay",
    clock: Clock | None = None,
) -> OutboxRelay:
    bus = MessageBus({Happened: (handler,)}, uow_factory)
    settings = RelaySettings(max_attempts=3, first_retry_seconds=1.0, lease_seconds=5.0)
    return OutboxRelay(uow_factory, bus, holder, settings, clock or Clock())


async def record(
    uow_factory: UnitOfWorkFactory, thing: str, *numbers: int, commit: bool = True
) -> None:
    uow = uow_factory()
    async with uow:
        aggregate = Thing(thing)
        for n in numbers:
            aggregate.happen(n)
        uow.collect(aggregate)
        if commit:
            await uow.commit()


async def parked_after_three_failures(
    uow_factory: UnitOfWorkFactory, thing: str, n: int
) -> tuple[OutboxRelay, Handled]:
    """An event recorded, then failed by its handler as often as the relay tries (3 times)."""
    await record(uow_factory, thing, n)
    handled = Handled(failures_left=Counter({(thing, n): 3}))
    clock = Clock()
    relay = relay_of(uow_factory, handled, clock=clock)
    for _ in range(3):
        await relay.deliver_due()
        clock.ms += 10_000
    return relay, handled


async def pending(uow_factory: UnitOfWorkFactory) -> list[tuple[str, int]]:
    async with uow_factory().read_only() as uow:
        return [(e.payload["thing"], e.payload["n"]) for e in await uow.outbox.undelivered(100)]


async def test_committed_events_are_stored_and_rolled_back_ones_are_not(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await record(uow_factory, "kept", 1, 2)
    await record(uow_factory, "dropped", 1, commit=False)
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            thing = Thing("raised")
            thing.happen(1)
            uow.collect(thing)
            raise Boom

    assert await pending(uow_factory) == [("kept", 1), ("kept", 2)]


async def test_the_relay_delivers_each_event_once_in_order_and_then_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await record(uow_factory, "a", 1, 2)
    await record(uow_factory, "b", 1)
    await record(uow_factory, "a", 3)
    handled = Handled()
    relay = relay_of(uow_factory, handled)

    assert await relay.deliver_due() == 4
    assert await relay.deliver_due() == 0
    assert handled.seen == [("a", 1), ("a", 2), ("b", 1), ("a", 3)]
    assert await pending(uow_factory) == []


async def test_a_failing_event_is_retried_with_backoff_and_holds_back_only_its_own_stream(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await record(uow_factory, "a", 1, 2)
    await record(uow_factory, "b", 1)
    handled = Handled(failures_left=Counter({("a", 1): 1}))
    clock = Clock()
    relay = relay_of(uow_factory, handled, clock=clock)

    await relay.deliver_due()
    assert handled.seen == [("b", 1)]  # a 2 waits behind a 1
    clock.ms += 500
    await relay.deliver_due()
    assert handled.seen == [("b", 1)]  # a 1's retry is due 1 s after its failure
    clock.ms += 600
    await relay.deliver_due()

    assert handled.seen == [("b", 1), ("a", 1), ("a", 2)]


async def test_an_event_that_keeps_failing_is_parked_until_an_operator_retries_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    relay, handled = await parked_after_three_failures(uow_factory, "a", 1)

    async with uow_factory().read_only() as uow:
        parked = await uow.outbox.parked()
        counts = await uow.outbox.counts()
    assert [(e.payload["n"], e.attempts, e.parked) for e in parked] == [(1, 3, True)]
    assert "failed on purpose" in (parked[0].last_error or "")
    assert (counts.pending, counts.parked) == (0, 1)
    assert relay.figures.parked == 1
    async with uow_factory() as uow:
        assert await uow.outbox.unpark(parked[0].id)
        await uow.commit()
    await relay.deliver_due()
    assert handled.seen == [("a", 1)]


async def test_only_the_lease_holder_delivers_until_its_lease_expires(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await record(uow_factory, "a", 1)
    clock = Clock()
    first, second = Handled(), Handled()
    holder = relay_of(uow_factory, first, "first", clock)
    other = relay_of(uow_factory, second, "second", clock)

    assert await holder.deliver_due() == 1
    await record(uow_factory, "a", 2)
    assert await other.deliver_due() == 0  # the first holds the lease
    clock.ms += 6_000  # the first stopped answering: its lease ran out
    assert await other.deliver_due() == 1

    assert (first.seen, second.seen) == ([("a", 1)], [("a", 2)])


async def test_an_event_handled_but_not_marked_before_a_crash_is_delivered_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """At least once: the relay died between the handler's work and the delivery mark."""
    await record(uow_factory, "a", 1)
    handled = Handled()

    async def handle_then_die(event: Happened, uow: AbstractUnitOfWork) -> None:
        await handled(event, uow)
        raise asyncio.CancelledError  # as a kill: nothing after the handler's work runs

    with pytest.raises(asyncio.CancelledError):
        await relay_of(uow_factory, handle_then_die, "crashing").deliver_due()
    clock = Clock()
    clock.ms += 60_000  # the crashed relay's lease has run out

    assert await relay_of(uow_factory, handled, "next", clock).deliver_due() == 1
    assert handled.seen == [("a", 1), ("a", 1)]  # hence handlers must be idempotent


async def test_a_parked_event_holds_back_its_stream_until_retried_and_others_go_on(
    uow_factory: UnitOfWorkFactory,
) -> None:
    relay, handled = await parked_after_three_failures(uow_factory, "a", 1)
    await record(uow_factory, "a", 2)
    await record(uow_factory, "b", 1)

    await relay.deliver_due()
    assert handled.seen == [("b", 1)]  # a 2 waits behind the parked a 1
    async with uow_factory() as uow:
        (parked,) = await uow.outbox.parked()
        await uow.outbox.unpark(parked.id)
        await uow.commit()
    await relay.deliver_due()

    assert handled.seen == [("b", 1), ("a", 1), ("a", 2)]


async def test_pruning_deletes_old_delivered_events_but_never_gives_an_id_out_twice(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await record(uow_factory, "a", 1, 2)
    await relay_of(uow_factory, Handled()).deliver_due()
    async with uow_factory() as uow:
        assert await uow.outbox.prune(delivered_before_ms=10**15) == 1  # the newest stays
        await uow.commit()
    await record(uow_factory, "a", 3)

    async with uow_factory().read_only() as uow:
        (fresh,) = await uow.outbox.undelivered(10)
    assert fresh.id == 3


async def test_a_relay_whose_lease_ran_out_mid_batch_stops_delivering(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await record(uow_factory, "a", 1)
    await record(uow_factory, "b", 1)
    clock = Clock()
    handled = Handled()

    async def slow_then_overtaken(event: Happened, uow: AbstractUnitOfWork) -> None:
        await handled(event, uow)
        clock.ms += 6_000  # longer than the lease: another relay took it meanwhile
        async with uow_factory() as other:
            assert await other.outbox.take_lease("other", clock.ms, clock.ms + 5_000)
            await other.commit()

    assert await relay_of(uow_factory, slow_then_overtaken, clock=clock).deliver_due() == 1
    assert handled.seen == [("a", 1)]
