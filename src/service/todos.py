"""Todo use cases. Each takes the principal asking: one reads and changes one's own todos, and
an admin reads everyone's but changes only their own."""

from domain.errors import NotFound
from domain.paging import Page
from domain.principals import Principal
from domain.todos import Todo, TodoFilter, TodoKey
from domain.users import UserRegistered
from service.contexts import TodosUnitOfWork
from service.retry import retried


@retried(idempotent=False)
async def create_todo(uow: TodosUnitOfWork, principal: Principal, key: str, value: str) -> Todo:
    todo = Todo.create(principal.subject, key, value)
    async with uow:
        await uow.todos.add(todo)
        await uow.commit(todo)
    return todo


@retried(idempotent=True)
async def get_todo(
    uow: TodosUnitOfWork, principal: Principal, key: str, *, owner: str | None = None
) -> Todo:
    """The principal's todo of `key`, or, named by `owner`, someone else's if they may read
    it."""
    async with uow.read_only(snapshot=False):  # one statement
        return await _readable(uow, principal, owner, TodoKey(key))


@retried(idempotent=True)
async def list_todos(uow: TodosUnitOfWork, principal: Principal, query: TodoFilter) -> Page[Todo]:
    async with uow.read_only():
        return await uow.todos.find(query.seen_by(principal))


@retried(idempotent=True)  # it sets values, so applying it twice leaves the same todo
async def update_todo(
    uow: TodosUnitOfWork,
    principal: Principal,
    key: str,
    *,
    value: str | None = None,
    done: bool | None = None,
    owner: str | None = None,
) -> Todo:
    """Change a todo's value, its done flag, or both."""
    async with uow:
        todo = await _changeable(uow, principal, owner, TodoKey(key))
        if value is not None:
            todo.change_value(value)
        if done is not None:
            todo.mark_done(done)
        await uow.todos.update(todo)
        await uow.commit(todo)
    return todo


@retried(idempotent=False)
async def delete_todo(
    uow: TodosUnitOfWork, principal: Principal, key: str, *, owner: str | None = None
) -> None:
    async with uow:
        todo = await _changeable(uow, principal, owner, TodoKey(key))
        await uow.todos.delete(todo.owner, todo.key)
        await uow.commit()


async def _readable(
    uow: TodosUnitOfWork, principal: Principal, owner: str | None, key: TodoKey
) -> Todo:
    """The todo of `owner` (the principal if None) and `key`; NotFound if it does not exist or
    the principal may not read it, so that the two cannot be told apart."""
    owner = principal.subject if owner is None else owner
    principal.check_may_read(owner, "todo", key.text)
    todo = await uow.todos.get(owner, key)
    if todo is None:
        raise NotFound("todo", key.text)
    return todo


async def _changeable(
    uow: TodosUnitOfWork, principal: Principal, owner: str | None, key: TodoKey
) -> Todo:
    todo = await _readable(uow, principal, owner, key)
    principal.check_may_change(todo.owner, "todo", key.text)
    return todo


async def welcome_new_user(event: UserRegistered, uow: TodosUnitOfWork) -> None:
    """A registered user finds a first todo waiting, owned by whoever registered them: an event
    of the blog handled here, in a unit of work of its own. Applied once however often the
    event is delivered."""
    todo = Todo.create(event.owner, f"welcome-user-{event.user_id}", f"Welcome, {event.name}!")
    async with uow:
        if await uow.todos.get(todo.owner, todo.key) is None:
            await uow.todos.add(todo)
            await uow.commit()
