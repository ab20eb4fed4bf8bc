"""Each aggregate is registered once per layer, and the registrations agree."""

import inspect

from adapters.memory.store import InMemoryStore
from adapters.repositories import REPOSITORIES
from service.unit_of_work import AbstractUnitOfWork

PLATFORM = {"reading_only", "outbox"}  # every unit of work has them, whatever is registered


def declared_repositories() -> dict[str, type]:
    """The aggregates' repositories AbstractUnitOfWork declares, by attribute name."""
    hints = inspect.get_annotations(AbstractUnitOfWork, eval_str=True)
    return {name: kind for name, kind in hints.items() if name not in PLATFORM}


def test_the_unit_of_work_declares_exactly_the_registered_repositories_once_each() -> None:
    names = [registration.name for registration in REPOSITORIES]

    assert len(set(names)) == len(names)
    assert sorted(names) == sorted(declared_repositories())


async def test_a_unit_of_work_carries_each_registered_repository_as_declared() -> None:
    declared = declared_repositories()
    store = InMemoryStore()

    assert set(store.tables) == set(declared)
    async with store.unit_of_work() as uow:
        for name, kind in declared.items():
            assert isinstance(getattr(uow, name), kind), name
