"""The outbox and its relay, for every backend: an event exists exactly when its change does,
and is delivered at least once, in order per stream, by one relay at a time. Each bounded
context has an outbox of its own, with a relay of its own.

The events and contexts here are the tests' own (nothing of the examples), so they hold in a
fork too.
"""

import asyncio
import functools
from collections import Counter
from dataclasses import dataclass, field

import pytest

from domain.events import DomainEvent
from domain.idempotency import IdempotencyKey
from service.idempotency import Answer, KeyedRequest, StoredAnswer
from service.messagebus import Handler, MessageBus
from service.relay import OutboxRelay, RelaySettings
from service.unit_of_work import AbstractUnitOfWork, UnitsOfWork
from tests.contract.harness import OtherThingsUnitOfWork, ThingsUnitOfWork


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

    async def handle(self, event: Happened, uow: ThingsUnitOfWork) -> None:
        """The handler, as the message bus sees it: it works in the things context."""
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
    units: UnitsOfWork,
    handler: Handled | Handler,
    holder: str = "relay",
    clock: Clock | None = None,
    context: type[AbstractUnitOfWork] = ThingsUnitOfWork,
) -> OutboxRelay:
    """The relay of `context`'s outbox (the things context's unless told), delivering
    Happened to `handler` in a unit of work of the context the handler declares."""
    if isinstance(handler, Handled):
        handler = handler.handle
    bus = MessageBus({Happened: (handler,)}, units)
    settings = RelaySettings(max_attempts=3, first_retry_seconds=1.0, lease_seconds=5.0)
    return OutboxRelay(
        functools.partial(units, context),
        bus,
        holder,
        settings,
        clock or Clock(),
        context=context.__name__,
        bell=units(context).outbox_bell,
    )


async def record(
    units: UnitsOfWork,
    thing: str,
    *numbers: int,
    commit: bool = True,
    context: type[AbstractUnitOfWork] = ThingsUnitOfWork,
) -> None:
    uow = units(context)
    async with uow:
        aggregate = Thing(thing)
        for n in numbers:
            aggregate.happen(n)
        uow.collect(aggregate)
        if commit:
            await uow.commit()


async def parked_after_three_failures(
    units: UnitsOfWork, thing: str, n: int
) -> tuple[OutboxRelay, Handled]:
    """An event recorded, then failed by its handler as often as the relay tries (3 times)."""
    await record(units, thing, n)
    handled = Handled(failures_left=Counter({(thing, n): 3}))
    clock = Clock()
    relay = relay_of(units, handled, clock=clock)
    for _ in range(3):
        await relay.deliver_due()
        clock.ms += 10_000
    return relay, handled


async def pending(
    units: UnitsOfWork, context: type[AbstractUnitOfWork] = ThingsUnitOfWork
) -> list[tuple[str, int]]:
    async with units(context).read_only() as uow:
        return [(e.payload["thing"], e.payload["n"]) for e in await uow.outbox.undelivered(100)]


async def test_committed_events_are_stored_and_rolled_back_ones_are_not(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "kept", 1, 2)
    await record(thing_units, "dropped", 1, commit=False)
    with pytest.raises(Boom):
        async with thing_units(ThingsUnitOfWork) as uow:
            thing = Thing("raised")
            thing.happen(1)
            uow.collect(thing)
            raise Boom

    assert await pending(thing_units) == [("kept", 1), ("kept", 2)]


async def test_the_relay_delivers_each_event_once_in_order_and_then_nothing(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "a", 1, 2)
    await record(thing_units, "b", 1)
    await record(thing_units, "a", 3)
    handled = Handled()
    relay = relay_of(thing_units, handled)

    assert await relay.deliver_due() == 4
    assert await relay.deliver_due() == 0
    assert handled.seen == [("a", 1), ("a", 2), ("b", 1), ("a", 3)]
    assert await pending(thing_units) == []


async def test_a_failing_event_is_retried_with_backoff_and_holds_back_only_its_own_stream(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "a", 1, 2)
    await record(thing_units, "b", 1)
    handled = Handled(failures_left=Counter({("a", 1): 1}))
    clock = Clock()
    relay = relay_of(thing_units, handled, clock=clock)

    await relay.deliver_due()
    assert handled.seen == [("b", 1)]  # a 2 waits behind a 1
    clock.ms += 500
    await relay.deliver_due()
    assert handled.seen == [("b", 1)]  # a 1's retry is due 1 s after its failure
    clock.ms += 600
    await relay.deliver_due()

    assert handled.seen == [("b", 1), ("a", 1), ("a", 2)]


async def test_an_event_that_keeps_failing_is_parked_until_an_operator_retries_it(
    thing_units: UnitsOfWork,
) -> None:
    relay, handled = await parked_after_three_failures(thing_units, "a", 1)

    async with thing_units(ThingsUnitOfWork).read_only() as uow:
        parked = await uow.outbox.parked()
        counts = await uow.outbox.counts()
    assert [(e.payload["n"], e.attempts, e.parked) for e in parked] == [(1, 3, True)]
    assert "failed on purpose" in (parked[0].last_error or "")
    assert (counts.pending, counts.parked) == (0, 1)
    assert relay.figures.parked == 1
    async with thing_units(ThingsUnitOfWork) as uow:
        assert await uow.outbox.unpark(parked[0].id)
        await uow.commit()
    await relay.deliver_due()
    assert handled.seen == [("a", 1)]


async def test_only_the_lease_holder_delivers_until_its_lease_expires(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "a", 1)
    clock = Clock()
    first, second = Handled(), Handled()
    holder = relay_of(thing_units, first, "first", clock)
    other = relay_of(thing_units, second, "second", clock)

    assert await holder.deliver_due() == 1
    await record(thing_units, "a", 2)
    assert await other.deliver_due() == 0  # the first holds the lease
    clock.ms += 6_000  # the first stopped answering: its lease ran out
    assert await other.deliver_due() == 1

    assert (first.seen, second.seen) == ([("a", 1)], [("a", 2)])


async def test_an_event_handled_but_not_marked_before_a_crash_is_delivered_again(
    thing_units: UnitsOfWork,
) -> None:
    """At least once: the relay died between the handler's work and the delivery mark."""
    await record(thing_units, "a", 1)
    handled = Handled()

    async def handle_then_die(event: Happened, uow: ThingsUnitOfWork) -> None:
        await handled.handle(event, uow)
        raise asyncio.CancelledError  # as a kill: nothing after the handler's work runs

    with pytest.raises(asyncio.CancelledError):
        await relay_of(thing_units, handle_then_die, "crashing").deliver_due()
    clock = Clock()
    clock.ms += 60_000  # the crashed relay's lease has run out

    assert await relay_of(thing_units, handled, "next", clock).deliver_due() == 1
    assert handled.seen == [("a", 1), ("a", 1)]  # hence handlers must be idempotent


async def test_a_parked_event_holds_back_its_stream_until_retried_and_others_go_on(
    thing_units: UnitsOfWork,
) -> None:
    relay, handled = await parked_after_three_failures(thing_units, "a", 1)
    await record(thing_units, "a", 2)
    await record(thing_units, "b", 1)

    await relay.deliver_due()
    assert handled.seen == [("b", 1)]  # a 2 waits behind the parked a 1
    async with thing_units(ThingsUnitOfWork) as uow:
        (parked,) = await uow.outbox.parked()
        await uow.outbox.unpark(parked.id)
        await uow.commit()
    await relay.deliver_due()

    assert handled.seen == [("b", 1), ("a", 1), ("a", 2)]


async def test_pruning_deletes_old_delivered_events_but_never_gives_an_id_out_twice(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "a", 1, 2)
    await relay_of(thing_units, Handled()).deliver_due()
    async with thing_units(ThingsUnitOfWork) as uow:
        assert await uow.outbox.prune(delivered_before_ms=10**15) == 1  # the newest stays
        await uow.commit()
    await record(thing_units, "a", 3)

    async with thing_units(ThingsUnitOfWork).read_only() as uow:
        (fresh,) = await uow.outbox.undelivered(10)
    assert fresh.id == 3


async def test_a_relay_whose_lease_ran_out_mid_batch_stops_delivering(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "a", 1)
    await record(thing_units, "b", 1)
    clock = Clock()
    handled = Handled()

    async def slow_then_overtaken(event: Happened, uow: ThingsUnitOfWork) -> None:
        await handled.handle(event, uow)
        clock.ms += 6_000  # longer than the lease: another relay took it meanwhile
        async with thing_units(ThingsUnitOfWork) as other:
            assert await other.outbox.take_lease("other", clock.ms, clock.ms + 5_000)
            await other.commit()

    assert await relay_of(thing_units, slow_then_overtaken, clock=clock).deliver_due() == 1
    assert handled.seen == [("a", 1)]


async def test_a_context_s_relay_delivers_its_own_outbox_s_events_and_no_other_s(
    thing_units: UnitsOfWork,
) -> None:
    await record(thing_units, "a", 1)
    await record(thing_units, "b", 1, context=OtherThingsUnitOfWork)
    handled = Handled()

    assert await relay_of(thing_units, handled, "things").deliver_due() == 1
    assert handled.seen == [("a", 1)]
    assert await pending(thing_units, OtherThingsUnitOfWork) == [("b", 1)]
    others = relay_of(thing_units, handled, "others", context=OtherThingsUnitOfWork)
    assert await others.deliver_due() == 1

    assert handled.seen == [("a", 1), ("b", 1)]
    assert await pending(thing_units) == []
    assert await pending(thing_units, OtherThingsUnitOfWork) == []


async def test_a_handler_stores_its_changes_in_its_own_context_not_the_event_s(
    thing_units: UnitsOfWork,
) -> None:
    """As a user registered in one context gets a welcome todo in another: the event comes
    from the other context's outbox, the handler works in a unit of work of its own context."""

    async def echo(event: Happened, uow: ThingsUnitOfWork) -> None:
        async with uow:
            echoed = Thing(f"echo of {event.thing}")
            echoed.happen(event.n)
            uow.collect(echoed)
            await uow.commit()

    await record(thing_units, "b", 1, 2, context=OtherThingsUnitOfWork)
    relay = relay_of(thing_units, echo, context=OtherThingsUnitOfWork)

    assert await relay.deliver_due() == 2
    assert await pending(thing_units, OtherThingsUnitOfWork) == []
    assert await pending(thing_units) == [("echo of b", 1), ("echo of b", 2)]


async def test_each_context_s_relay_has_a_lease_of_its_own(thing_units: UnitsOfWork) -> None:
    await record(thing_units, "a", 1)
    await record(thing_units, "b", 1, context=OtherThingsUnitOfWork)
    clock = Clock()
    first, second = Handled(), Handled()

    assert await relay_of(thing_units, first, "first", clock).deliver_due() == 1
    await record(thing_units, "a", 2)
    assert await relay_of(thing_units, second, "second", clock).deliver_due() == 0
    # The first holds the things context's lease, not the other context's.
    other = relay_of(thing_units, second, "second", clock, OtherThingsUnitOfWork)
    assert await other.deliver_due() == 1

    assert (first.seen, second.seen) == ([("a", 1)], [("b", 1)])


async def running_relay(relay: OutboxRelay) -> asyncio.Task[None]:
    """`relay.run()` as a task, once it holds the lease."""
    running = asyncio.create_task(relay.run())
    for _ in range(500):
        if relay.figures.holding:
            return running
        await asyncio.sleep(0.01)
    running.cancel()
    pytest.fail("the relay did not take the lease within 5 s")


async def stopped(running: asyncio.Task[None]) -> None:
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)


async def test_an_idle_relay_delivers_at_once_what_its_own_process_commits(
    thing_units: UnitsOfWork,
) -> None:
    handled = Handled()
    bus = MessageBus({Happened: (handled.handle,)}, thing_units)
    idle = RelaySettings(lease_seconds=100.0)  # it polls every 20 s when it finds nothing
    bell = thing_units(ThingsUnitOfWork).outbox_bell
    relay = OutboxRelay(functools.partial(thing_units, ThingsUnitOfWork), bus, "r", idle, bell=bell)
    running = await running_relay(relay)
    try:
        await asyncio.sleep(0.1)  # it looked, found nothing, and waits

        await record(thing_units, "a", 1)

        for _ in range(100):  # 10 s at most: not the 20 s poll
            if handled.seen:
                break
            await asyncio.sleep(0.1)
        assert handled.seen == [("a", 1)]
    finally:
        await stopped(running)


async def test_an_idle_relay_retries_a_failed_event_when_it_falls_due(
    thing_units: UnitsOfWork,
) -> None:
    handled = Handled(failures_left=Counter({("a", 1): 1}))
    bus = MessageBus({Happened: (handled.handle,)}, thing_units)
    idle = RelaySettings(lease_seconds=100.0, first_retry_seconds=0.2)  # polls every 20 s
    bell = thing_units(ThingsUnitOfWork).outbox_bell
    relay = OutboxRelay(functools.partial(thing_units, ThingsUnitOfWork), bus, "r", idle, bell=bell)
    running = await running_relay(relay)
    try:
        await record(thing_units, "a", 1)  # fails at once, then is due 0.2 s later

        for _ in range(100):  # 10 s at most: not the 20 s poll
            if handled.seen:
                break
            await asyncio.sleep(0.1)
        assert handled.seen == [("a", 1)]
        assert relay.figures.failed == 1
    finally:
        await stopped(running)


async def test_the_relay_forgets_the_answers_stored_longer_ago_than_it_keeps_them(
    thing_units: UnitsOfWork,
) -> None:
    clock = Clock()
    keep_ms = int(RelaySettings().keep_answers_seconds * 1000)
    ages = {"old": keep_ms + 1, "older": 2 * keep_ms, "new": keep_ms - 1}
    async with thing_units(ThingsUnitOfWork) as uow:
        for key, age in ages.items():
            request = KeyedRequest("alice", IdempotencyKey(key), "asked")
            await uow.answers.add(StoredAnswer(request, Answer(201, "{}"), clock.ms - age))
        await uow.commit()

    await relay_of(thing_units, Handled(), clock=clock).deliver_due()

    async with thing_units(ThingsUnitOfWork).read_only() as uow:
        kept = [k for k in ages if await uow.answers.get("alice", IdempotencyKey(k))]
    assert kept == ["new"]


async def test_an_event_keeps_the_trace_context_it_was_stored_with(
    thing_units: UnitsOfWork,
) -> None:
    traced = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    too_long = {"tracestate": "k=" + "v" * 2000}  # stored untraced, not refused
    uow = thing_units(ThingsUnitOfWork)
    async with uow:
        await uow.outbox.add([Happened("traced", 1)], trace_context=traced)
        await uow.outbox.add([Happened("untraced", 2)])
        await uow.outbox.add([Happened("too long", 3)], trace_context=too_long)
        await uow.commit()

    async with thing_units(ThingsUnitOfWork).read_only() as uow:
        stored = await uow.outbox.undelivered(10)

    assert [(event.payload["thing"], event.trace_context) for event in stored] == [
        ("traced", traced),
        ("untraced", None),
        ("too long", None),
    ]
