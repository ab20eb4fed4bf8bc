"""The aggregates the unit-of-work contract exercises. A new aggregate adds a probe here."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from domain.todos import Todo
from service.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class AggregateProbe[T]:
    """How the generic contract makes, stores and reads back one kind of aggregate."""

    name: str
    sample: Callable[[int], T]  # a distinct, valid aggregate for each number
    add: Callable[[AbstractUnitOfWork, T], Awaitable[None]]
    get: Callable[[AbstractUnitOfWork, T], Awaitable[T | None]]


TODOS = AggregateProbe[Todo](
    name="todos",
    sample=lambda n: Todo.create(f"key-{n}", f"value {n}"),
    add=lambda uow, todo: uow.todos.add(todo),
    get=lambda uow, todo: uow.todos.get(todo.key),
)

AGGREGATES: list[AggregateProbe[Any]] = [TODOS]
