from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.unit_of_work import UnitOfWorkFactory
from tests.contract.aggregates import AGGREGATES, AggregateProbe
from tests.contract.backends import Backend, dqlite_backend, memory_backend
from tests.dqlite import dqlite_node

__all__ = ["dqlite_node"]


@pytest.fixture(params=["memory", "dqlite"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return memory_backend()
    return dqlite_backend(request.getfixturevalue("dqlite_node"))


@pytest.fixture
async def uow_factory(backend: Backend) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on a fresh, empty store of the backend under test."""
    async with backend.open() as factory:
        yield factory


@pytest.fixture(params=AGGREGATES, ids=lambda probe: probe.name)
def aggregate(request: pytest.FixtureRequest) -> AggregateProbe[Any]:
    probe: AggregateProbe[Any] = request.param
    return probe
