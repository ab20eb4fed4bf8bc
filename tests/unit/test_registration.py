"""Each aggregate is registered once, in its bounded context, and the registrations agree with
the context's unit of work; a context, the project's or a new one, is a database of its own
with nothing but its registration."""

import asyncio
import inspect
from collections.abc import AsyncIterator

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from adapters.contexts import CONTEXTS, Context
from adapters.memory.store import InMemoryStore
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from service.unit_of_work import AbstractUnitOfWork
from tests.ledger import model as ledger
from tests.ledger.model import LedgerUnitOfWork
from tests.ledger.storage import LEDGER
from tests.unit.probe_routes import PROBE, ProbeUnitOfWork

# The project's contexts, then two of the tests' own that no project file knows of: the ledger
# (two aggregates) and the probe (none).
EVERY_CONTEXT = (*CONTEXTS, LEDGER, PROBE)
by_name = pytest.mark.parametrize("context", EVERY_CONTEXT, ids=lambda c: c.name)


def declared_repositories(context: Context) -> dict[str, type]:
    """The aggregates' repositories the context's unit of work declares, by attribute name
    (AbstractUnitOfWork's own, such as the outbox, are every context's)."""
    return dict(inspect.get_annotations(context.unit_of_work, eval_str=True))


def test_each_context_and_its_unit_of_work_are_named_once() -> None:
    names = [context.name for context in EVERY_CONTEXT]
    kinds = [context.unit_of_work for context in EVERY_CONTEXT]

    assert len(set(names)) == len(names)
    assert len(set(kinds)) == len(kinds)
    assert all(issubclass(kind, AbstractUnitOfWork) for kind in kinds)


@by_name
def test_a_contexts_unit_of_work_declares_exactly_its_registered_repositories_once_each(
    context: Context,
) -> None:
    names = [registration.name for registration in context.registrations]

    assert len(set(names)) == len(names)
    assert sorted(names) == sorted(declared_repositories(context))


@by_name
async def test_a_unit_of_work_of_a_context_carries_each_of_its_repositories_as_declared(
    context: Context,
) -> None:
    declared = declared_repositories(context)
    store = InMemoryStore(contexts=EVERY_CONTEXT)

    assert set(store.databases[context.unit_of_work].tables) == set(declared)
    async with store.unit_of_work(context.unit_of_work) as uow:
        assert isinstance(uow, context.unit_of_work)
        for name, kind in declared.items():
            assert isinstance(getattr(uow, name), kind), name


async def test_a_new_contexts_aggregates_work_by_its_registration_alone() -> None:
    store = InMemoryStore(contexts=(*CONTEXTS, LEDGER))

    opened = await ledger.open_account(store.unit_of_work(LedgerUnitOfWork), "Ann", 100)

    assert await ledger.get_account(store.unit_of_work(LedgerUnitOfWork), opened.id) == opened
    with pytest.raises(LookupError):  # a context is served only when the store is given it
        InMemoryStore().unit_of_work(LedgerUnitOfWork)


async def test_each_context_has_a_database_whose_writes_wait_only_for_that_contexts() -> None:
    store = InMemoryStore(contexts=EVERY_CONTEXT)
    assert len({id(database) for database in store.databases.values()}) == len(EVERY_CONTEXT)

    async with store.unit_of_work(LedgerUnitOfWork) as held:  # a write left open
        same_context = asyncio.create_task(store.unit_of_work(LedgerUnitOfWork).__aenter__())
        async with asyncio.timeout(1):  # any other context's writers do not wait for it...
            for context in EVERY_CONTEXT:
                if context is not LEDGER:
                    async with store.unit_of_work(context.unit_of_work) as other:
                        await other.commit()
        await asyncio.sleep(0.01)
        assert not same_context.done()  # ...its own context's writers queue behind it
        await held.commit()
    queued = await asyncio.wait_for(same_context, 1)
    await queued.__aexit__(None, None, None)


@pytest.fixture
async def app_with_new_contexts() -> AsyncIterator[FastAPI]:
    container = Container()
    container.settings.override(providers.Object(Settings(storage="memory")))
    container.contexts.override(providers.Object((*CONTEXTS, LEDGER, PROBE)))
    app = create_app(container)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_app_serves_every_context_it_is_given_each_with_its_relay_and_ready_line(
    app_with_new_contexts: FastAPI,
) -> None:
    app = app_with_new_contexts
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ready = await client.get("/ready")

    assert ready.status_code == 200
    assert ready.json()["checks"] == {f"{c.name} database": "ok" for c in EVERY_CONTEXT}
    assert [relay.context for relay in app.state.relays] == [c.name for c in EVERY_CONTEXT]
    store = app.state.store
    assert isinstance(store.unit_of_work(LedgerUnitOfWork), LedgerUnitOfWork)
    assert isinstance(store.unit_of_work(ProbeUnitOfWork), ProbeUnitOfWork)
