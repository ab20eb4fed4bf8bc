"""Todo use cases."""

from domain.errors import NotFound
from domain.paging import Page
from domain.todos import Todo, TodoFilter, TodoKey
from domain.users import UserRegistered
from service.contexts import TodosUnitOfWork
from service.retry import retried


@retried(idempotent=False)
async def create_todo(uow: TodosUnitOfWork, key: str, value: str) -> Todo:
    todo = Todo.create(key, value)
    async with uow:
        await uow.todos.add(todo)
        await uow.commit()
    return todo


@retried(idempotent=True)
async def get_todo(uow: TodosUnitOfWork, key: str) -> Todo:
    async with uow.read_only():
        return await _existing(uow, TodoKey(key))


@retried(idempotent=True)
async def list_todos(uow: TodosUnitOfWork, query: TodoFilter) -> Page[Todo]:
    async with uow.read_only():
        items = await uow.todos.find(query)
        total = await uow.todos.count(query)
    return Page(tuple(items), total)


@retried(idempotent=True)  # it sets values, so applying it twice leaves the same todo
async def update_todo(
    uow: TodosUnitOfWork, key: str, *, value: str | None = None, done: bool | None = None
) -> Todo:
    """Change a todo's value, its done flag, or both."""
    async with uow:
        todo = await _existing(uow, TodoKey(key))
        if value is not None:
            todo.change_value(value)
        if done is not None:
            todo.mark_done(done)
        await uow.todos.update(todo)
        await uow.commit()
    return todo


@retried(idempotent=False)
async def delete_todo(uow: TodosUnitOfWork, key: str) -> None:
    async with uow:
        await _existing(uow, TodoKey(key))
        await uow.todos.delete(TodoKey(key))
        await uow.commit()


async def _existing(uow: TodosUnitOfWork, key: TodoKey) -> Todo:
    todo = await uow.todos.get(key)
    if todo is None:
        raise NotFound("todo", key.text)
    return todo


async def welcome_new_user(event: UserRegistered, uow: TodosUnitOfWork) -> None:
    """A registered user finds a first todo waiting: an event of the blog handled here, in
    a unit of work of its own. Applied once however often the event is delivered."""
    todo = Todo.create(f"welcome-user-{event.user_id}", f"Welcome, {event.name}!")
    async with uow:
        if await uow.todos.get(todo.key) is None:
            await uow.todos.add(todo)
            await uow.commit()
