"""The in-memory twin answers as dqlite does at 10^5 todos: the same pages, the same cursors,
the same bounded totals, for every kind of filter, where a page's walk of SCAN_LIMIT rows, a
fragment looked up in the trigram index, and a total's stop at COUNT_LIMIT matter. Once per
run: filling dqlite takes a few seconds."""

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace

import pytest
from sqlalchemy import text

from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import DqliteStore
from adapters.memory.store import InMemoryStore
from domain.paging import COUNT_LIMIT, Cursor, Page, Total
from domain.todos import Todo, TodoFilter, TodoKey, TodoValue
from service.contexts import TodosUnitOfWork
from service.unit_of_work import UnitsOfWork
from tests.dqlite import fresh_store

pytestmark = pytest.mark.slow

ROWS = 100_000
BATCH = 10_000  # rows per INSERT: one JSON parameter each
OWNERS = ("alice", "bob", "carol")
PAGES = 3  # pages followed for each query


def todo(n: int) -> Todo:
    """The n-th todo: owners interleaved, keys that sort apart from n, values where some
    fragments are everywhere and some are rare."""
    owner = OWNERS[n % len(OWNERS)] if n % 1000 else "dora"  # dora: one todo in a thousand
    value = f"buy {'milk' if n % 7 else 'bread'} {n * 7919 % ROWS}"
    return Todo(owner, TodoKey(f"k{n * 31 % ROWS:06d}"), TodoValue(value), done=n % 3 == 0)


SPARSE = TodoFilter(value_contains="yb")  # too short to look up, and in no todo: a walk
RARE = TodoFilter(value_contains=" 4242", with_total=True)  # looked up: in 11 todos
COUNTED_PAST_THE_CAP = TodoFilter(done=True, limit=1000, with_total=True)
QUERIES = [
    TodoFilter(),
    TodoFilter(owner="bob", with_total=True),
    COUNTED_PAST_THE_CAP,
    TodoFilter(owner="dora", done=False, with_total=True),
    TodoFilter(key_contains="k00", with_total=True),  # dense in key order at the start
    SPARSE,
    RARE,
    TodoFilter(owner="carol", value_contains=" 4242", with_total=True),  # looked up: 1 of 11
    TodoFilter(key_contains="7", value_contains="bread 12", limit=20, with_total=True),
    TodoFilter(owner="carol", value_contains="bread", limit=50, with_total=True),  # in 14,286
    TodoFilter(value_contains="milk", done=True, limit=1000),
    TodoFilter(owner="alice", key_contains="k0", value_contains="bread", with_total=True),
    TodoFilter(owner="bob", limit=7, offset=9_000),
    TodoFilter(after=Cursor(("bob", "k090000")), limit=20),
    TodoFilter(owner="alice", after=Cursor(("alice", "k099000")), key_contains="9"),
]


async def fill_dqlite(store: DqliteStore, todos: Sequence[Todo]) -> None:
    """The bulk path: each batch one INSERT of a JSON array, all in one transaction."""
    async with store.databases[TodosUnitOfWork].engine.begin() as connection:
        for start in range(0, len(todos), BATCH):
            rows = [
                [t.owner, t.key.text, t.value.text, int(t.done)]
                for t in todos[start : start + BATCH]
            ]
            await connection.execute(
                text(
                    "INSERT INTO todos (owner, key, value, done) SELECT value ->> 0, "
                    "value ->> 1, value ->> 2, value ->> 3 FROM json_each(:rows)"
                ),
                {"rows": json.dumps(rows)},
            )


def fill_memory(store: InMemoryStore, todos: Sequence[Todo]) -> None:
    table = store.databases[TodosUnitOfWork].tables["todos"]
    table.update(((t.owner, t.key.text), t) for t in todos)


async def pages_of(units: UnitsOfWork, query: TodoFilter) -> list[Page[Todo]]:
    """The query's first PAGES pages, each after the one before."""
    pages: list[Page[Todo]] = []
    async with units(TodosUnitOfWork).read_only() as uow:
        pages.append(await uow.todos.find(query))
        while pages[-1].next is not None and len(pages) < PAGES:
            following = replace(query, offset=0, after=pages[-1].next)
            pages.append(await uow.todos.find(following))
    return pages


def test_memory_and_dqlite_page_10_to_the_5_todos_alike(dqlite_node: DqliteNode) -> None:
    todos = [todo(n) for n in range(ROWS)]
    memory = InMemoryStore()
    fill_memory(memory, todos)

    async def both() -> tuple[list[list[Page[Todo]]], list[list[Page[Todo]]]]:
        async with fresh_store(dqlite_node) as dqlite:
            await fill_dqlite(dqlite, todos)
            on_memory = [await pages_of(memory.unit_of_work, query) for query in QUERIES]
            on_dqlite = [await pages_of(dqlite.unit_of_work, query) for query in QUERIES]
        return on_memory, on_dqlite

    on_memory, on_dqlite = asyncio.run(both())

    differing = [q for q, m, d in zip(QUERIES, on_memory, on_dqlite, strict=True) if m != d]
    assert differing == []
    # The bounds were reached: a walk of SCAN_LIMIT rows that found nothing, a capped total.
    sparse = on_memory[QUERIES.index(SPARSE)][0]
    assert (sparse.items, sparse.next is not None) == ((), True)
    rare = on_memory[QUERIES.index(RARE)][0]
    assert (len(rare.items), rare.next, rare.total) == (11, None, Total(11))
    assert on_memory[QUERIES.index(COUNTED_PAST_THE_CAP)][0].total == Total(COUNT_LIMIT + 1, True)
