from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.contexts import CONTEXTS
from service.unit_of_work import UnitsOfWork
from tests.contract.aggregates import PROBES
from tests.contract.backends import Backend, dqlite_backend, memory_backend
from tests.contract.harness import THINGS_CONTEXTS, AggregateProbe
from tests.dqlite import dqlite_node

__all__ = ["dqlite_node"]


@pytest.fixture(params=["memory", "dqlite"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return memory_backend()
    return dqlite_backend(request.getfixturevalue("dqlite_node"))


@pytest.fixture
async def units(backend: Backend) -> AsyncIterator[UnitsOfWork]:
    """Units of work on a fresh, empty store of the backend under test (a database per
    context): `units(TodosUnitOfWork)` opens a new one of the todos context."""
    async with backend.open() as units:
        yield units


@pytest.fixture
async def thing_units(backend: Backend) -> AsyncIterator[UnitsOfWork]:
    """Units of work on a fresh store of the tests' own two contexts, each only an outbox:
    `thing_units(ThingsUnitOfWork)`, `thing_units(OtherThingsUnitOfWork)`."""
    async with backend.open(THINGS_CONTEXTS) as units:
        yield units


@pytest.fixture(
    params=[
        pytest.param((context, registration.name), id=registration.name)
        for context in CONTEXTS
        for registration in context.registrations
    ]
)
def aggregate(request: pytest.FixtureRequest) -> AggregateProbe[Any, Any]:
    """Every aggregate registered in adapters/contexts.py, through its probe."""
    context, name = request.param
    probe = PROBES.get(name)
    if probe is None:
        pytest.fail(f"{name!r} is registered but has no probe in tests/contract/aggregates.py")
    if probe.context is not context.unit_of_work:
        pytest.fail(
            f"{name!r} is registered in the {context.name} context, but its probe works in "
            f"{probe.context.__name__}, not {context.unit_of_work.__name__}"
        )
    return probe
