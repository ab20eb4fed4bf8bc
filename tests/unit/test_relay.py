"""The relay's loop, apart from any backend: what it says while its store refuses, and the
bell that wakes it."""

import asyncio
import logging
import time

import pytest

from adapters.memory.store import InMemoryStore
from service.errors import StoreFull, StoreUnavailable
from service.messagebus import MessageBus
from service.outbox import OutboxBell
from service.relay import OutboxRelay, RelaySettings
from service.unit_of_work import AbstractUnitOfWork
from tests.unit.probe_routes import PROBE, ProbeUnitOfWork


async def test_a_relay_warns_once_per_kind_of_refusal_and_says_when_its_store_answers_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryStore(contexts=(PROBE,))
    refusals = [StoreFull("0 MB free")] * 10 + [StoreUnavailable("no leader")] * 10
    answered = asyncio.Event()

    def unit_of_work() -> AbstractUnitOfWork:
        if refusals:
            raise refusals.pop(0)
        answered.set()
        return store.unit_of_work(ProbeUnitOfWork)

    settings = RelaySettings(poll_seconds=0.001, lease_seconds=0.005)
    bus = MessageBus({}, store.unit_of_work)
    relay = OutboxRelay(unit_of_work, bus, "test", settings, context="probe")
    with caplog.at_level(logging.INFO, logger="service.relay"):
        running = asyncio.create_task(relay.run())
        await asyncio.wait_for(answered.wait(), timeout=5)
        await asyncio.sleep(0.01)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said.count(("WARNING", "outbox relay of probe: 0 MB free")) == 1
    assert said.count(("WARNING", "outbox relay of probe: no leader")) == 1
    assert said.count(("INFO", "outbox relay of probe: the store answers again")) == 1
    assert relay.figures.holding


def test_a_bell_rung_before_the_wait_ends_it_at_once_on_any_event_loop() -> None:
    bell = OutboxBell()
    asyncio.run(bell.wait(0.01))  # not rung: waits out its time

    bell.ring()
    started = time.monotonic()
    asyncio.run(bell.wait(30))  # another loop; rung meanwhile

    assert time.monotonic() - started < 10


async def test_a_bell_rung_during_the_wait_ends_it() -> None:
    bell = OutboxBell()
    waiting = asyncio.create_task(bell.wait(30))
    await asyncio.sleep(0.01)

    bell.ring()

    await asyncio.wait_for(waiting, timeout=10)
