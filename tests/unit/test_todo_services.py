import pytest

from adapters.memory.store import InMemoryStore
from domain.errors import AlreadyExists, Forbidden, InvalidValue, NotFound
from domain.paging import Total
from domain.principals import Principal
from domain.todos import Todo, TodoFilter
from domain.users import UserRegistered
from service import todos
from service.contexts import TodosUnitOfWork

ALICE = Principal("1")
BOB = Principal("2")
ADMIN = Principal("9", frozenset({"admin"}))


@pytest.fixture
def uow(store: InMemoryStore) -> TodosUnitOfWork:
    return store.unit_of_work(TodosUnitOfWork)


async def test_a_created_todo_belongs_to_its_creator_and_is_fetched_by_its_key(
    uow: TodosUnitOfWork,
) -> None:
    created = await todos.create_todo(uow, ALICE, "k", "v")

    assert await todos.get_todo(uow, ALICE, "k") == created == Todo.create("1", "k", "v")


async def test_creating_a_taken_key_conflicts_and_keeps_the_original(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, ALICE, "k", "original")

    with pytest.raises(AlreadyExists):
        await todos.create_todo(uow, ALICE, "k", "other")
    assert (await todos.get_todo(uow, ALICE, "k")).value.text == "original"


async def test_two_owners_each_have_a_todo_of_the_same_key(uow: TodosUnitOfWork) -> None:
    await todos.create_todo(uow, ALICE, "milk", "alice's")

    await todos.create_todo(uow, BOB, "milk", "bob's")

    assert (await todos.get_todo(uow, ALICE, "milk")).value.text == "alice's"
    assert (await todos.get_todo(uow, BOB, "milk")).value.text == "bob's"


async def test_an_invalid_todo_is_rejected_before_anything_is_stored(
    uow: TodosUnitOfWork,
) -> None:
    with pytest.raises(InvalidValue):
        await todos.create_todo(uow, ALICE, "k", "v" * 129)

    assert (await todos.list_todos(uow, ADMIN, TodoFilter(with_total=True))).total == Total(0)


async def test_getting_an_unknown_key_is_not_found(uow: TodosUnitOfWork) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        await todos.get_todo(uow, ALICE, "nope")


async def test_someone_else_s_todo_is_not_found_by_key_or_by_naming_its_owner(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, ALICE, "k", "v")

    for owner in (None, "1"):
        with pytest.raises(NotFound, match="'k'"):
            await todos.get_todo(uow, BOB, "k", owner=owner)
        with pytest.raises(NotFound, match="'k'"):
            await todos.update_todo(uow, BOB, "k", done=True, owner=owner)
        with pytest.raises(NotFound, match="'k'"):
            await todos.delete_todo(uow, BOB, "k", owner=owner)
    assert await todos.get_todo(uow, ALICE, "k") == Todo.create("1", "k", "v")


async def test_an_admin_reads_someone_else_s_todo_by_naming_its_owner_but_cannot_change_it(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, ALICE, "k", "v")

    assert await todos.get_todo(uow, ADMIN, "k", owner="1") == Todo.create("1", "k", "v")
    with pytest.raises(NotFound):
        await todos.get_todo(uow, ADMIN, "k")  # the admin's own: there is none
    with pytest.raises(Forbidden):
        await todos.update_todo(uow, ADMIN, "k", value="admin's", owner="1")
    with pytest.raises(Forbidden):
        await todos.delete_todo(uow, ADMIN, "k", owner="1")
    assert await todos.get_todo(uow, ALICE, "k") == Todo.create("1", "k", "v")


async def test_an_update_changes_only_what_it_names(uow: TodosUnitOfWork) -> None:
    await todos.create_todo(uow, ALICE, "k", "v")

    await todos.update_todo(uow, ALICE, "k", done=True)
    todo = await todos.get_todo(uow, ALICE, "k")
    assert (todo.value.text, todo.done) == ("v", True)
    await todos.update_todo(uow, ALICE, "k", value="w")
    todo = await todos.get_todo(uow, ALICE, "k")
    assert (todo.value.text, todo.done) == ("w", True)


async def test_an_invalid_update_leaves_the_todo_as_it_was(uow: TodosUnitOfWork) -> None:
    await todos.create_todo(uow, ALICE, "k", "v")

    with pytest.raises(InvalidValue):
        await todos.update_todo(uow, ALICE, "k", value="ok", done="yes")  # type: ignore[arg-type]
    todo = await todos.get_todo(uow, ALICE, "k")
    assert (todo.value.text, todo.done) == ("v", False)


async def test_updating_or_deleting_an_unknown_key_is_not_found(uow: TodosUnitOfWork) -> None:
    with pytest.raises(NotFound):
        await todos.update_todo(uow, ALICE, "nope", done=True)
    with pytest.raises(NotFound):
        await todos.delete_todo(uow, ALICE, "nope")


async def test_a_deleted_todo_is_gone_and_another_owner_s_of_the_same_key_stays(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, ALICE, "k", "v")
    await todos.create_todo(uow, BOB, "k", "v")

    await todos.delete_todo(uow, ALICE, "k")

    with pytest.raises(NotFound):
        await todos.get_todo(uow, ALICE, "k")
    assert await todos.get_todo(uow, BOB, "k") == Todo.create("2", "k", "v")


async def test_listing_returns_a_window_and_the_total_that_match(uow: TodosUnitOfWork) -> None:
    for key in ["b", "a", "c", "other"]:
        await todos.create_todo(uow, ALICE, key, "")
    await todos.update_todo(uow, ALICE, "other", done=True)

    query = TodoFilter(done=False, limit=2, offset=1, with_total=True)
    page = await todos.list_todos(uow, ALICE, query)

    assert [todo.key.text for todo in page.items] == ["b", "c"]
    assert (page.next, page.total) == (None, Total(3))


async def test_a_list_shows_only_one_s_own_todos_even_when_asking_for_another_owner(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, ALICE, "a", "")
    await todos.create_todo(uow, BOB, "b", "")

    for query in (TodoFilter(with_total=True), TodoFilter(owner="1", with_total=True)):
        page = await todos.list_todos(uow, BOB, query)
        assert (page.items, page.total) == ((Todo.create("2", "b", ""),), Total(1))


async def test_an_admin_lists_every_owner_s_todos_by_owner_then_key_or_one_owner_s(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, BOB, "a", "")
    await todos.create_todo(uow, ALICE, "b", "")
    await todos.create_todo(uow, ALICE, "a", "")

    every = await todos.list_todos(uow, ADMIN, TodoFilter())
    alice_s = await todos.list_todos(uow, ADMIN, TodoFilter(owner="1"))

    assert [(t.owner, t.key.text) for t in every.items] == [("1", "a"), ("1", "b"), ("2", "a")]
    assert [(t.owner, t.key.text) for t in alice_s.items] == [("1", "a"), ("1", "b")]


async def test_a_welcome_todo_is_made_once_for_the_owner_of_the_registered_user(
    uow: TodosUnitOfWork,
) -> None:
    event = UserRegistered(user_id=7, name="Ann", email="ann@example.org", owner="1")

    await todos.welcome_new_user(event, uow)
    await todos.welcome_new_user(event, uow)

    page = await todos.list_todos(uow, ALICE, TodoFilter())
    assert page.items == (Todo.create("1", "welcome-user-7", "Welcome, Ann!"),)
