import pytest

from adapters.memory.store import InMemoryStore
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.todos import Todo, TodoFilter
from service import todos
from service.contexts import TodosUnitOfWork


@pytest.fixture
def uow(store: InMemoryStore) -> TodosUnitOfWork:
    return store.unit_of_work(TodosUnitOfWork)


async def test_a_created_todo_can_be_fetched_by_its_key(uow: TodosUnitOfWork) -> None:
    created = await todos.create_todo(uow, "k", "v")

    assert await todos.get_todo(uow, "k") == created == Todo.create("k", "v")


async def test_creating_a_taken_key_conflicts_and_keeps_the_original(
    uow: TodosUnitOfWork,
) -> None:
    await todos.create_todo(uow, "k", "original")

    with pytest.raises(AlreadyExists):
        await todos.create_todo(uow, "k", "other")
    assert (await todos.get_todo(uow, "k")).value.text == "original"


async def test_an_invalid_todo_is_rejected_before_anything_is_stored(
    uow: TodosUnitOfWork,
) -> None:
    with pytest.raises(InvalidValue):
        await todos.create_todo(uow, "k", "v" * 129)

    assert (await todos.list_todos(uow, TodoFilter())).total == 0


async def test_getting_an_unknown_key_is_not_found(uow: TodosUnitOfWork) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        await todos.get_todo(uow, "nope")


async def test_an_update_changes_only_what_it_names(uow: TodosUnitOfWork) -> None:
    await todos.create_todo(uow, "k", "v")

    await todos.update_todo(uow, "k", done=True)
    todo = await todos.get_todo(uow, "k")
    assert (todo.value.text, todo.done) == ("v", True)
    await todos.update_todo(uow, "k", value="w")
    todo = await todos.get_todo(uow, "k")
    assert (todo.value.text, todo.done) == ("w", True)


async def test_an_invalid_update_leaves_the_todo_as_it_was(uow: TodosUnitOfWork) -> None:
    await todos.create_todo(uow, "k", "v")

    with pytest.raises(InvalidValue):
        await todos.update_todo(uow, "k", value="ok", done="yes")  # type: ignore[arg-type]
    todo = await todos.get_todo(uow, "k")
    assert (todo.value.text, todo.done) == ("v", False)


async def test_updating_or_deleting_an_unknown_key_is_not_found(uow: TodosUnitOfWork) -> None:
    with pytest.raises(NotFound):
        await todos.update_todo(uow, "nope", done=True)
    with pytest.raises(NotFound):
        await todos.delete_todo(uow, "nope")


async def test_a_deleted_todo_is_gone(uow: TodosUnitOfWork) -> None:
    await todos.create_todo(uow, "k", "v")

    await todos.delete_todo(uow, "k")

    with pytest.raises(NotFound):
        await todos.get_todo(uow, "k")


async def test_listing_returns_a_window_and_the_total_that_match(uow: TodosUnitOfWork) -> None:
    for key in ["b", "a", "c", "other"]:
        await todos.create_todo(uow, key, "")
    await todos.update_todo(uow, "other", done=True)

    page = await todos.list_todos(uow, TodoFilter(done=False, limit=2, offset=1))

    assert [todo.key.text for todo in page.items] == ["b", "c"]
    assert page.total == 3
