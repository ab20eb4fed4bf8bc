"""A relay whose store stops answering says so once, not on every poll, and once more when
the store answers again."""

import asyncio
import logging

import pytest

from adapters.memory.store import InMemoryStore
from service.messagebus import MessageBus
from service.relay import OutboxRelay, RelaySettings
from service.unit_of_work import AbstractUnitOfWork, StoreFull
from tests.unit.probe_routes import PROBE, ProbeUnitOfWork


async def test_a_relay_warns_once_while_its_store_refuses_and_says_when_it_answers_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryStore(contexts=(PROBE,))
    refusals_left = 20
    answered = asyncio.Event()

    def unit_of_work() -> AbstractUnitOfWork:
        nonlocal refusals_left
        if refusals_left > 0:
            refusals_left -= 1
            raise StoreFull("0 MB free on the node's disk")
        answered.set()
        return store.unit_of_work(ProbeUnitOfWork)

    settings = RelaySettings(poll_seconds=0.001, lease_seconds=0.005)
    relay = OutboxRelay(
        unit_of_work, MessageBus({}, store.unit_of_work), "test", settings, context="probe"
    )
    with caplog.at_level(logging.INFO, logger="service.relay"):
        running = asyncio.create_task(relay.run())
        await asyncio.wait_for(answered.wait(), timeout=5)
        await asyncio.sleep(0.01)
        running.cancel()

    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said.count(("WARNING", "outbox relay of probe: 0 MB free on the node's disk")) == 1
    assert said.count(("INFO", "outbox relay of probe: the store answers again")) == 1
    assert relay.figures.holding
