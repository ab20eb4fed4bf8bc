"""The Todo repository contract, run on every backend, plus memory-versus-dqlite differential."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import rule

from adapters.dqlite.node import DqliteNode
from domain.errors import AlreadyExists
from domain.todos import KEY_MAX_LENGTH, VALUE_MAX_LENGTH, Todo, TodoFilter, TodoKey, TodoValue
from service.contexts import TodosUnitOfWork
from service.unit_of_work import UnitsOfWork
from tests.contract.backends import Backend
from tests.contract.harness import (
    DIFFERENTIAL_SETTINGS,
    AggregateProbe,
    BackendMachine,
    on_memory_and_dqlite,
    run_machine,
)
from tests.contract.strategies import TRICKY, chars, key_chars

keys = st.text(key_chars, min_size=1, max_size=4) | st.text(
    key_chars, min_size=1, max_size=KEY_MAX_LENGTH
)
values = st.text(chars, max_size=6) | st.text(chars, max_size=VALUE_MAX_LENGTH)
fragments = st.text(st.sampled_from(TRICKY), max_size=2)

todo_filters = st.builds(
    TodoFilter,
    key_contains=st.none() | fragments,
    value_contains=st.none() | fragments,
    done=st.none() | st.booleans(),
    limit=st.integers(1, 12) | st.just(1000),
    offset=st.integers(0, 12),
)


async def add_all(units: UnitsOfWork, *todos: Todo) -> None:
    async with units(TodosUnitOfWork) as uow:
        for todo in todos:
            await uow.todos.add(todo)
        await uow.commit()


async def find(units: UnitsOfWork, query: TodoFilter) -> tuple[list[Todo], int]:
    async with units(TodosUnitOfWork).read_only() as uow:
        return await uow.todos.find(query), await uow.todos.count(query)


async def test_a_todo_reads_back_exactly_as_it_was_added(units: UnitsOfWork) -> None:
    todos = [
        Todo.create("k" * KEY_MAX_LENGTH, "v" * VALUE_MAX_LENGTH),
        Todo.create("ünï €😀 %_", ""),
        Todo.create(" spaced ", " "),
    ]
    todos[1].mark_done()
    await add_all(units, *todos)

    async with units(TodosUnitOfWork).read_only() as uow:
        assert [await uow.todos.get(todo.key) for todo in todos] == todos


async def test_adding_a_taken_key_fails_and_keeps_the_first_todo(
    units: UnitsOfWork,
) -> None:
    await add_all(units, Todo.create("k", "first"))

    with pytest.raises(AlreadyExists):
        await add_all(units, Todo.create("k", "second"))
    with pytest.raises(AlreadyExists):
        await add_all(units, Todo.create("new", "x"), Todo.create("new", "y"))

    assert await find(units, TodoFilter()) == ([Todo.create("k", "first")], 1)


TODOS = AggregateProbe[Todo, TodosUnitOfWork](
    name="todos",
    context=TodosUnitOfWork,
    sample=lambda n: Todo.create(f"key-{n}", f"value {n}"),
    add=lambda uow, todo: uow.todos.add(todo),
    get=lambda uow, todo: uow.todos.get(todo.key),
)


async def test_an_update_stores_the_new_value_and_done_flag(units: UnitsOfWork) -> None:
    await add_all(units, Todo.create("k", "old"))
    async with units(TodosUnitOfWork) as uow:
        todo = await uow.todos.get(TodoKey("k"))
        assert todo is not None
        todo.change_value("new")
        todo.mark_done()
        await uow.todos.update(todo)
        await uow.commit()

    assert await find(units, TodoFilter()) == ([Todo(todo.key, todo.value, True)], 1)


async def test_an_entity_changed_but_not_saved_is_not_stored(
    units: UnitsOfWork,
) -> None:
    await add_all(units, Todo.create("k", "old"))
    async with units(TodosUnitOfWork) as uow:
        todo = await uow.todos.get(TodoKey("k"))
        assert todo is not None
        todo.change_value("changed in memory only")
        await uow.commit()

    assert await find(units, TodoFilter()) == ([Todo.create("k", "old")], 1)


async def test_delete_removes_the_todo_and_ignores_a_missing_key(
    units: UnitsOfWork,
) -> None:
    await add_all(units, Todo.create("a", ""), Todo.create("b", ""))
    async with units(TodosUnitOfWork) as uow:
        await uow.todos.delete(TodoKey("a"))
        await uow.todos.delete(TodoKey("missing"))
        await uow.commit()

    assert await find(units, TodoFilter()) == ([Todo.create("b", "")], 1)


async def test_a_key_can_be_added_again_after_its_delete_in_one_unit_of_work(
    units: UnitsOfWork,
) -> None:
    await add_all(units, Todo.create("k", "old"))
    async with units(TodosUnitOfWork) as uow:
        await uow.todos.delete(TodoKey("k"))
        await uow.todos.add(Todo.create("k", "new"))
        await uow.commit()

    assert await find(units, TodoFilter()) == ([Todo.create("k", "new")], 1)


async def test_find_orders_by_key_windows_the_result_and_counts_every_match(
    units: UnitsOfWork,
) -> None:
    await add_all(units, *(Todo.create(key, "") for key in ["c", "a", "é", "B", "b"]))

    items, total = await find(units, TodoFilter(limit=2, offset=1))

    assert [todo.key.text for todo in items] == ["a", "b"]
    assert total == 5


async def test_every_filter_field_narrows_the_result_together_with_the_others(
    units: UnitsOfWork,
) -> None:
    rows = [
        ("x1", "red", True),
        ("x2", "red", True),
        ("x3", "blue", True),
        ("x4", "red", False),
        ("y1", "red", True),
        ("x5", "red", True),
        ("x6", "reddish", True),
    ]
    todos = [Todo(TodoKey(k), TodoValue(v), done) for k, v, done in rows]
    await add_all(units, *todos)

    query = TodoFilter(key_contains="x", value_contains="red", done=True, limit=2, offset=1)
    items, total = await find(units, query)

    assert total == 4  # x1, x2, x5, x6
    assert [todo.key.text for todo in items] == ["x2", "x5"]


async def test_substring_filters_are_case_sensitive_and_literal(
    units: UnitsOfWork,
) -> None:
    await add_all(units, *(Todo.create(k, k) for k in ["abc", "ABC", "a%c", "a_c"]))

    assert [t.key.text for t in (await find(units, TodoFilter(key_contains="a")))[0]] == [
        "a%c",
        "a_c",
        "abc",
    ]
    assert [t.key.text for t in (await find(units, TodoFilter(value_contains="%")))[0]] == ["a%c"]


class TodoRepositoryMachine(BackendMachine):
    """Random add/get/update/delete/find sequences, checked against a plain dict."""

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, tuple[str, bool]] = {}

    @rule(key=keys, value=values)
    def add(self, key: str, value: str) -> None:
        try:
            self.run(add_all(self.units, Todo.create(key, value)))
        except AlreadyExists:
            assert key in self.model
        else:
            assert key not in self.model
            self.model[key] = (value, False)

    @rule(key=keys, value=st.none() | values, done=st.none() | st.booleans())
    def update(self, key: str, value: str | None, done: bool | None) -> None:
        async def change() -> bool:
            async with self.units(TodosUnitOfWork) as uow:
                todo = await uow.todos.get(TodoKey(key))
                if todo is None:
                    return False
                if value is not None:
                    todo.change_value(value)
                if done is not None:
                    todo.mark_done(done)
                await uow.todos.update(todo)
                await uow.commit()
                return True

        assert self.run(change()) == (key in self.model)
        if key in self.model:
            old_value, old_done = self.model[key]
            self.model[key] = (
                old_value if value is None else value,
                old_done if done is None else done,
            )

    @rule(key=keys)
    def delete(self, key: str) -> None:
        async def remove() -> None:
            async with self.units(TodosUnitOfWork) as uow:
                await uow.todos.delete(TodoKey(key))
                await uow.commit()

        self.run(remove())
        self.model.pop(key, None)

    @rule(key=keys, value=values)
    def add_then_fail(self, key: str, value: str) -> None:
        async def fail() -> None:
            async with self.units(TodosUnitOfWork) as uow:
                await uow.todos.delete(TodoKey(key))
                raise RuntimeError("abandon the unit of work")

        with pytest.raises(RuntimeError):
            self.run(fail())

    @rule(key=keys)
    def get(self, key: str) -> None:
        async def read() -> Todo | None:
            async with self.units(TodosUnitOfWork).read_only() as uow:
                return await uow.todos.get(TodoKey(key))

        todo = self.run(read())
        expected = self.model.get(key)
        assert (None if todo is None else (todo.value.text, todo.done)) == expected

    @rule(query=todo_filters)
    def find(self, query: TodoFilter) -> None:
        matching = sorted(
            (key, value, done)
            for key, (value, done) in self.model.items()
            if (query.key_contains is None or query.key_contains in key)
            and (query.value_contains is None or query.value_contains in value)
            and (query.done is None or query.done == done)
        )
        items, total = self.run(find(self.units, query))
        assert total == len(matching)
        window = matching[query.offset : query.offset + query.limit]
        assert [(t.key.text, t.value.text, t.done) for t in items] == window


def test_the_repository_behaves_like_a_plain_dict_under_random_operations(
    backend: Backend,
) -> None:
    run_machine(TodoRepositoryMachine, backend)


@DIFFERENTIAL_SETTINGS
@given(
    todos=st.lists(st.builds(Todo.create, keys, values), max_size=15, unique_by=lambda t: t.key),
    done_flags=st.lists(st.booleans(), min_size=15, max_size=15),
    queries=st.lists(todo_filters, min_size=1, max_size=6),
)
def test_memory_and_dqlite_return_the_same_todos_in_the_same_order(
    dqlite_node: DqliteNode, todos: list[Todo], done_flags: list[bool], queries: list[TodoFilter]
) -> None:
    for todo, done in zip(todos, done_flags, strict=False):
        todo.mark_done(done)

    async def scenario(units: UnitsOfWork) -> list[tuple[list[Todo], int]]:
        await add_all(units, *todos)
        return [await find(units, query) for query in queries]

    memory, dqlite = on_memory_and_dqlite(dqlite_node, scenario)
    assert dqlite == memory
