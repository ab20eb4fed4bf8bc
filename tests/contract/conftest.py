from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.repositories import REPOSITORIES
from service.unit_of_work import UnitOfWorkFactory
from tests.contract.aggregates import PROBES
from tests.contract.backends import Backend, dqlite_backend, memory_backend
from tests.contract.harness import AggregateProbe
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


@pytest.fixture(params=[registration.name for registration in REPOSITORIES])
def aggregate(request: pytest.FixtureRequest) -> AggregateProbe[Any]:
    """Every aggregate registered in adapters/repositories.py, through its probe."""
    probe = PROBES.get(request.param)
    if probe is None:
        pytest.fail(
            f"{request.param!r} is registered but has no probe in tests/contract/aggregates.py"
        )
    return probe
