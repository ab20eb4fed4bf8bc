"""The Todo repository contract, run on every backend, plus memory-versus-dqlite differential.
A todo is stored under its owner and key: two owners may each have one of the same key."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import rule

from adapters.dqlite.node import DqliteNode
from domain.errors import AlreadyExists
from domain.fields import canonical
from domain.paging import SCAN_LIMIT, Cursor, Page, Total
from domain.principals import SUBJECT_MAX_LENGTH
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

ALICE, BOB, NOBODY = "1", "2", ""  # NOBODY: the owner of the rows from before owners

keys = st.text(key_chars, min_size=1, max_size=4) | st.text(
    key_chars, min_size=1, max_size=KEY_MAX_LENGTH
)
# Few owners, so that they share keys; arbitrary subjects, so that they sort as text does.
owners = st.sampled_from([ALICE, BOB, "10", NOBODY]) | st.text(chars, max_size=SUBJECT_MAX_LENGTH)
values = st.text(chars, max_size=6) | st.text(chars, max_size=VALUE_MAX_LENGTH)
# Up to 4 characters: the trigram index looks up those of 3 or more (FTS5's syntax among them).
fragments = st.text(st.sampled_from(TRICKY + '"*:^()'), max_size=4)


@st.composite
def todo_filters(draw: st.DrawFn) -> TodoFilter:
    """Any valid query: an offset only where one is allowed (no cursor, no substring)."""
    key_contains, value_contains = draw(st.none() | fragments), draw(st.none() | fragments)
    after = draw(st.none() | st.builds(lambda o, k: Cursor((o, k)), owners, keys))
    scans = key_contains is not None or value_contains is not None
    return TodoFilter(
        owner=draw(st.none() | st.sampled_from([ALICE, BOB, NOBODY])),
        key_contains=key_contains,
        value_contains=value_contains,
        done=draw(st.none() | st.booleans()),
        limit=draw(st.integers(1, 12) | st.just(1000)),
        offset=0 if scans or after else draw(st.integers(0, 12)),
        after=after,
        with_total=draw(st.booleans()),
    )


async def add_all(units: UnitsOfWork, *todos: Todo) -> None:
    async with units(TodosUnitOfWork) as uow:
        for todo in todos:
            await uow.todos.add(todo)
        await uow.commit()


async def find_page(units: UnitsOfWork, query: TodoFilter) -> Page[Todo]:
    async with units(TodosUnitOfWork).read_only() as uow:
        return await uow.todos.find(query)


async def find(units: UnitsOfWork, query: TodoFilter) -> tuple[list[Todo], int]:
    """The page's todos, and the total (counted whether `query` asks or not)."""
    page = await find_page(units, replace(query, with_total=True))
    assert page.total is not None
    assert not page.total.capped
    return list(page.items), page.total.count


def alice_s(key: str, value: str) -> Todo:
    return Todo.create(ALICE, key, value)


async def test_a_todo_reads_back_exactly_as_it_was_added(units: UnitsOfWork) -> None:
    todos = [
        alice_s("k" * KEY_MAX_LENGTH, "v" * VALUE_MAX_LENGTH),
        Todo.create("ünï €😀 %_" * 20, "ünï €😀 %_", ""),
        Todo.create(NOBODY, " spaced ", " "),
        Todo.create("s" * SUBJECT_MAX_LENGTH, "k", "v"),
    ]
    todos[1].mark_done()
    await add_all(units, *todos)

    async with units(TodosUnitOfWork).read_only() as uow:
        assert [await uow.todos.get(todo.owner, todo.key) for todo in todos] == todos


async def test_adding_a_key_its_owner_has_fails_and_keeps_the_first_todo(
    units: UnitsOfWork,
) -> None:
    await add_all(units, alice_s("k", "first"))

    with pytest.raises(AlreadyExists):
        await add_all(units, alice_s("k", "second"))
    with pytest.raises(AlreadyExists):
        await add_all(units, alice_s("new", "x"), alice_s("new", "y"))

    assert await find(units, TodoFilter()) == ([alice_s("k", "first")], 1)


async def test_two_owners_each_have_a_todo_of_the_same_key(units: UnitsOfWork) -> None:
    alice_milk, bob_milk = alice_s("milk", "alice's"), Todo.create(BOB, "milk", "bob's")

    await add_all(units, alice_milk, bob_milk)

    async with units(TodosUnitOfWork).read_only() as uow:
        assert await uow.todos.get(ALICE, TodoKey("milk")) == alice_milk
        assert await uow.todos.get(BOB, TodoKey("milk")) == bob_milk
        assert await uow.todos.get(NOBODY, TodoKey("milk")) is None


async def test_a_todo_is_changed_and_deleted_only_under_its_own_owner(
    units: UnitsOfWork,
) -> None:
    await add_all(units, alice_s("milk", ""), Todo.create(BOB, "milk", ""))
    async with units(TodosUnitOfWork) as uow:
        bob_milk = await uow.todos.get(BOB, TodoKey("milk"))
        assert bob_milk is not None
        bob_milk.mark_done()
        await uow.todos.update(bob_milk)
        await uow.todos.delete(NOBODY, TodoKey("milk"))
        await uow.commit()
    async with units(TodosUnitOfWork) as uow:
        await uow.todos.delete(ALICE, TodoKey("milk"))
        await uow.commit()

    assert await find(units, TodoFilter()) == ([bob_milk], 1)


async def test_find_and_count_narrow_to_one_owner_or_take_every_owner_s(
    units: UnitsOfWork,
) -> None:
    await add_all(
        units,
        Todo.create(BOB, "a", ""),
        alice_s("b", ""),
        Todo.create(NOBODY, "c", ""),
        alice_s("a", ""),
    )

    every, every_total = await find(units, TodoFilter())
    alice_s_todos, alice_s_total = await find(units, TodoFilter(owner=ALICE, limit=1, offset=1))
    nobody_s, nobody_s_total = await find(units, TodoFilter(owner=NOBODY))

    assert [(t.owner, t.key.text) for t in every] == [
        (NOBODY, "c"),
        (ALICE, "a"),
        (ALICE, "b"),
        (BOB, "a"),
    ]
    assert every_total == 4
    assert ([t.key.text for t in alice_s_todos], alice_s_total) == (["b"], 2)
    assert ([t.key.text for t in nobody_s], nobody_s_total) == (["c"], 1)


TODOS = AggregateProbe[Todo, TodosUnitOfWork](
    name="todos",
    context=TodosUnitOfWork,
    sample=lambda n: Todo.create(ALICE, f"key-{n}", f"value {n}"),
    add=lambda uow, todo: uow.todos.add(todo),
    get=lambda uow, todo: uow.todos.get(todo.owner, todo.key),
)


async def test_an_update_stores_the_new_value_and_done_flag(units: UnitsOfWork) -> None:
    await add_all(units, alice_s("k", "old"))
    async with units(TodosUnitOfWork) as uow:
        todo = await uow.todos.get(ALICE, TodoKey("k"))
        assert todo is not None
        todo.change_value("new")
        todo.mark_done()
        await uow.todos.update(todo)
        await uow.commit()

    assert await find(units, TodoFilter()) == ([Todo(ALICE, todo.key, todo.value, True)], 1)


async def test_an_entity_changed_but_not_saved_is_not_stored(
    units: UnitsOfWork,
) -> None:
    await add_all(units, alice_s("k", "old"))
    async with units(TodosUnitOfWork) as uow:
        todo = await uow.todos.get(ALICE, TodoKey("k"))
        assert todo is not None
        todo.change_value("changed in memory only")
        await uow.commit()

    assert await find(units, TodoFilter()) == ([alice_s("k", "old")], 1)


async def test_delete_removes_the_todo_and_ignores_a_missing_key(
    units: UnitsOfWork,
) -> None:
    await add_all(units, alice_s("a", ""), alice_s("b", ""))
    async with units(TodosUnitOfWork) as uow:
        await uow.todos.delete(ALICE, TodoKey("a"))
        await uow.todos.delete(ALICE, TodoKey("missing"))
        await uow.commit()

    assert await find(units, TodoFilter()) == ([alice_s("b", "")], 1)


async def test_a_key_can_be_added_again_after_its_delete_in_one_unit_of_work(
    units: UnitsOfWork,
) -> None:
    await add_all(units, alice_s("k", "old"))
    async with units(TodosUnitOfWork) as uow:
        await uow.todos.delete(ALICE, TodoKey("k"))
        await uow.todos.add(alice_s("k", "new"))
        await uow.commit()

    assert await find(units, TodoFilter()) == ([alice_s("k", "new")], 1)


async def test_find_orders_by_key_windows_the_result_and_counts_every_match(
    units: UnitsOfWork,
) -> None:
    await add_all(units, *(alice_s(key, "") for key in ["c", "a", "é", "B", "b"]))

    items, total = await find(units, TodoFilter(limit=2, offset=1))

    assert [todo.key.text for todo in items] == ["a", "b"]
    assert total == 5


async def test_every_filter_field_narrows_the_result_together_with_the_others(
    units: UnitsOfWork,
) -> None:
    rows = [
        (ALICE, "x1", "red", True),
        (ALICE, "x2", "red", True),
        (ALICE, "x3", "blue", True),
        (ALICE, "x4", "red", False),
        (ALICE, "y1", "red", True),
        (BOB, "x1", "red", True),
        (ALICE, "x5", "red", True),
        (ALICE, "x6", "reddish", True),
    ]
    todos = [Todo(owner, TodoKey(k), TodoValue(v), done) for owner, k, v, done in rows]
    await add_all(units, *todos)

    query = TodoFilter(
        owner=ALICE,
        key_contains="x",
        value_contains="red",
        done=True,
        limit=2,
        after=Cursor((ALICE, "x1")),
    )
    items, total = await find(units, query)

    assert total == 4  # alice's x1, x2, x5, x6
    assert [todo.key.text for todo in items] == ["x2", "x5"]


async def test_substring_filters_are_case_sensitive_and_literal(
    units: UnitsOfWork,
) -> None:
    await add_all(units, *(alice_s(k, k) for k in ["abc", "ABC", "a%c", "a_c"]))

    assert [t.key.text for t in (await find(units, TodoFilter(key_contains="a")))[0]] == [
        "a%c",
        "a_c",
        "abc",
    ]
    assert [t.key.text for t in (await find(units, TodoFilter(value_contains="%")))[0]] == ["a%c"]


# The machine's dict is keyed as the store is: by the key's one spelling (TodoKey's NFC form).
canonical_keys = keys.map(canonical)


class TodoRepositoryMachine(BackendMachine):
    """Random add/get/update/delete/find sequences by a few owners sharing keys, checked
    against a plain dict keyed by (owner, key)."""

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[tuple[str, str], tuple[str, bool]] = {}

    @rule(owner=owners, key=canonical_keys, value=values)
    def add(self, owner: str, key: str, value: str) -> None:
        try:
            self.run(add_all(self.units, Todo.create(owner, key, value)))
        except AlreadyExists:
            assert (owner, key) in self.model
        else:
            assert (owner, key) not in self.model
            self.model[owner, key] = (value, False)

    @rule(
        owner=owners, key=canonical_keys, value=st.none() | values, done=st.none() | st.booleans()
    )
    def update(self, owner: str, key: str, value: str | None, done: bool | None) -> None:
        async def change() -> bool:
            async with self.units(TodosUnitOfWork) as uow:
                todo = await uow.todos.get(owner, TodoKey(key))
                if todo is None:
                    return False
                if value is not None:
                    todo.change_value(value)
                if done is not None:
                    todo.mark_done(done)
                await uow.todos.update(todo)
                await uow.commit()
                return True

        assert self.run(change()) == ((owner, key) in self.model)
        if (owner, key) in self.model:
            old_value, old_done = self.model[owner, key]
            self.model[owner, key] = (
                old_value if value is None else value,
                old_done if done is None else done,
            )

    @rule(owner=owners, key=canonical_keys)
    def delete(self, owner: str, key: str) -> None:
        async def remove() -> None:
            async with self.units(TodosUnitOfWork) as uow:
                await uow.todos.delete(owner, TodoKey(key))
                await uow.commit()

        self.run(remove())
        self.model.pop((owner, key), None)

    @rule(owner=owners, key=canonical_keys)
    def delete_then_fail(self, owner: str, key: str) -> None:
        async def fail() -> None:
            async with self.units(TodosUnitOfWork) as uow:
                await uow.todos.delete(owner, TodoKey(key))
                raise RuntimeError("abandon the unit of work")

        with pytest.raises(RuntimeError):
            self.run(fail())

    @rule(owner=owners, key=canonical_keys)
    def get(self, owner: str, key: str) -> None:
        async def read() -> Todo | None:
            async with self.units(TodosUnitOfWork).read_only() as uow:
                return await uow.todos.get(owner, TodoKey(key))

        todo = self.run(read())
        expected = self.model.get((owner, key))
        assert (None if todo is None else (todo.value.text, todo.done)) == expected

    @rule(query=todo_filters())
    def find(self, query: TodoFilter) -> None:
        matching = sorted(
            (owner, key, value, done)
            for (owner, key), (value, done) in self.model.items()
            if (query.owner is None or query.owner == owner)
            and (query.key_contains is None or query.key_contains in key)
            and (query.value_contains is None or query.value_contains in value)
            and (query.done is None or query.done == done)
        )
        # Far fewer rows than a page walks (SCAN_LIMIT): every page is full but the last.
        after = query.after
        following = [r for r in matching if after is None or r[:2] > after.position]
        window = following[query.offset : query.offset + query.limit]
        more = len(following) > query.offset + query.limit
        page = self.run(find_page(self.units, query))
        assert [(t.owner, t.key.text, t.value.text, t.done) for t in page.items] == window
        assert page.next == (Cursor(window[-1][:2]) if more else None)
        assert page.total == (Total(len(matching)) if query.with_total else None)


def test_the_repository_behaves_like_a_plain_dict_under_random_operations(
    backend: Backend,
) -> None:
    run_machine(TodoRepositoryMachine, backend)


@DIFFERENTIAL_SETTINGS
@given(
    todos=st.lists(
        st.builds(Todo.create, owners, keys, values),
        max_size=15,
        unique_by=lambda t: (t.owner, t.key),
    ),
    done_flags=st.lists(st.booleans(), min_size=15, max_size=15),
    queries=st.lists(todo_filters(), min_size=1, max_size=6),
)
def test_memory_and_dqlite_return_the_same_todos_of_every_owner_in_the_same_order(
    dqlite_node: DqliteNode, todos: list[Todo], done_flags: list[bool], queries: list[TodoFilter]
) -> None:
    for todo, done in zip(todos, done_flags, strict=False):
        todo.mark_done(done)

    async def scenario(units: UnitsOfWork) -> list[Page[Todo]]:
        await add_all(units, *todos)
        return [await find_page(units, query) for query in queries]

    memory, dqlite = on_memory_and_dqlite(dqlite_node, scenario)
    assert dqlite == memory


async def test_following_next_walks_every_todo_once_in_order(units: UnitsOfWork) -> None:
    stored = [Todo.create(owner, f"k{n:02d}", "") for owner in (BOB, ALICE) for n in range(7)]
    await add_all(units, *stored)

    seen: list[Todo] = []
    page = await find_page(units, TodoFilter(limit=3))
    while True:
        seen += page.items
        if page.next is None:
            break
        page = await find_page(units, TodoFilter(limit=3, after=page.next))

    assert seen == sorted(stored, key=lambda t: (t.owner, t.key.text))


async def test_a_page_with_a_short_substring_filter_walks_at_most_scan_limit_todos(
    units: UnitsOfWork,
) -> None:
    """A fragment too short for the trigram index: where only the last of SCAN_LIMIT + 1
    todos holds it, the first page is empty and says where to go on; the next page holds it,
    and nothing after."""
    await add_all(units, *(alice_s(f"k{n:05d}", "") for n in range(SCAN_LIMIT)))
    await add_all(units, alice_s("z", "needle"))

    first = await find_page(units, TodoFilter(owner=ALICE, value_contains="dl"))
    assert first.items == ()
    assert first.next == Cursor((ALICE, f"k{SCAN_LIMIT - 1:05d}"))

    second = await find_page(units, TodoFilter(owner=ALICE, value_contains="dl", after=first.next))
    assert second == Page((alice_s("z", "needle"),), None)
    counted = await find_page(units, TodoFilter(value_contains="dl", with_total=True))
    assert counted.total == Total(1)


async def test_a_fragment_of_three_characters_found_in_few_todos_fills_its_pages(
    units: UnitsOfWork,
) -> None:
    """The trigram index finds the two todos after SCAN_LIMIT others: no walk, full pages."""
    await add_all(units, *(alice_s(f"k{n:05d}", "") for n in range(SCAN_LIMIT)))
    await add_all(units, alice_s("z1", 'a "needle"'), alice_s("z2", 'needle" key'))

    first = await find_page(units, TodoFilter(owner=ALICE, value_contains='dle"', limit=1))
    assert first == Page((alice_s("z1", 'a "needle"'),), Cursor((ALICE, "z1")))
    second = await find_page(
        units, TodoFilter(owner=ALICE, value_contains='dle"', limit=1, after=first.next)
    )
    assert second == Page((alice_s("z2", 'needle" key'),), None)
    counted = await find_page(
        units, TodoFilter(key_contains="z", value_contains='dle"', with_total=True)
    )
    assert counted.total == Total(2)
    assert await find_page(units, TodoFilter(value_contains="Needle")) == Page(())


async def test_a_fragment_found_in_more_than_scan_limit_todos_is_checked_on_the_walk(
    units: UnitsOfWork,
) -> None:
    """Too many holders for the index to pay: the page walks SCAN_LIMIT todos, as a short
    fragment's does, and here finds none of them."""
    await add_all(units, *(alice_s(f"k{n:05d}", "") for n in range(SCAN_LIMIT)))
    await add_all(units, *(alice_s(f"m{n:05d}", "common") for n in range(SCAN_LIMIT + 1)))

    first = await find_page(units, TodoFilter(owner=ALICE, value_contains="common"))
    assert first == Page((), Cursor((ALICE, f"k{SCAN_LIMIT - 1:05d}")))
    second = await find_page(units, TodoFilter(value_contains="common", limit=2, after=first.next))
    assert [todo.key.text for todo in second.items] == ["m00000", "m00001"]
