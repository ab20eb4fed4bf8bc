"""What every aggregate's contract tests share: a state machine bound to one backend, and
a scenario run on memory and dqlite side by side."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from adapters.contexts import Context
from adapters.dqlite.node import DqliteNode
from domain.events import DomainEvent
from service.unit_of_work import AbstractUnitOfWork, UnitsOfWork
from tests.contract.backends import Backend, dqlite_backend, memory_backend


class ThingsUnitOfWork(AbstractUnitOfWork):
    """A bounded context of the tests' own, with no aggregate: only its outbox (so what is
    tested with it holds in a fork too, without the examples)."""


class OtherThingsUnitOfWork(AbstractUnitOfWork):
    """Another context of the tests' own: a database of its own, with its own outbox."""


THINGS_CONTEXTS = (
    Context("things", ThingsUnitOfWork, ()),
    Context("other_things", OtherThingsUnitOfWork, ()),
)


@dataclass(frozen=True, slots=True)
class Wrote(DomainEvent):
    """A write of the tests' own, to a context with no aggregate: an event in its outbox."""

    what: str

    @property
    def stream(self) -> str:
        return f"wrote:{self.what}"


# Not UTC on purpose: the stores must give back the offset a time was written with.
WRITTEN_AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))


@dataclass(frozen=True)
class AggregateProbe[T, U: AbstractUnitOfWork]:
    """How the generic contract makes, stores and reads back one kind of aggregate, in the
    unit of work of its bounded context."""

    name: str  # its registration's name in adapters/contexts.py
    context: type[U]  # its context's unit of work, e.g. TodosUnitOfWork
    sample: Callable[[int], T]  # a distinct, valid aggregate for each number
    add: Callable[[U, T], Awaitable[None]]
    get: Callable[[U, T], Awaitable[T | None]]


# dqlite examples cost real round trips: fewer of them, same depth.
STATEFUL_SETTINGS = {
    "memory": settings(max_examples=60, stateful_step_count=25, deadline=None),
    "dqlite": settings(max_examples=15, stateful_step_count=25, deadline=None),
}
DIFFERENTIAL_SETTINGS = settings(max_examples=40, deadline=None)


class BackendMachine(RuleBasedStateMachine):
    """A state machine whose rules run async code against a fresh store of `backend`
    (`self.units(TodosUnitOfWork)`: a new unit of work of a context)."""

    backend: ClassVar[Backend]

    def __init__(self) -> None:
        super().__init__()
        self._runner = asyncio.Runner()
        self._resources = AsyncExitStack()
        self.units = self.run(self._resources.enter_async_context(self.backend.open()))

    def run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine)

    def teardown(self) -> None:
        self.run(self._resources.aclose())
        self._runner.close()


def run_machine(machine: type[BackendMachine], backend: Backend) -> None:
    bound = type(machine.__name__, (machine,), {"backend": backend})
    run_state_machine_as_test(bound, settings=STATEFUL_SETTINGS[backend.name])


def on_memory_and_dqlite[T](
    node: DqliteNode, scenario: Callable[[UnitsOfWork], Awaitable[T]]
) -> tuple[T, T]:
    """Run `scenario` on a fresh in-memory store and fresh dqlite databases."""

    async def both() -> tuple[T, T]:
        async with memory_backend().open() as memory, dqlite_backend(node).open() as dqlite:
            return await scenario(memory), await scenario(dqlite)

    return asyncio.run(both())
