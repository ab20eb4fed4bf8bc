"""The in-memory twin alone, in this process: listing many rows with a filter."""

import asyncio
import time

from adapters.memory.store import InMemoryStore
from domain.principals import Principal
from domain.todos import Todo, TodoFilter
from service import todos as use_cases
from service.contexts import TodosUnitOfWork

OWNER = Principal("1")


async def _list_with_filter(rows: int, repeats: int) -> float:
    store = InMemoryStore()
    async with store.unit_of_work(TodosUnitOfWork) as uow:
        for n in range(rows):
            await uow.todos.add(Todo.create(OWNER.subject, f"todo-{n}", "value"))
        await uow.commit()
    query = TodoFilter(key_contains="9", limit=100)
    started = time.perf_counter()
    for _ in range(repeats):
        await use_cases.list_todos(store.unit_of_work(TodosUnitOfWork), OWNER, query)
    return (time.perf_counter() - started) * 1000 / repeats


def list_milliseconds(rows: int = 10_000, repeats: int = 20) -> float:
    """Milliseconds per filtered list of `rows` todos (one page, and the total)."""
    return asyncio.run(_list_with_filter(rows, repeats))
