"""The aggregates the unit-of-work contract exercises. A new aggregate adds a probe here."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.accounts import Account
from domain.posts import Post
from domain.todos import Todo
from domain.transfers import IdempotencyKey, Transfer, TransferRequest
from domain.users import User
from service.unit_of_work import AbstractUnitOfWork

# Not UTC on purpose: the stores must give back the offset a time was written with.
WRITTEN_AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))


@dataclass(frozen=True)
class AggregateProbe[T]:
    """How the generic contract makes, stores and reads back one kind of aggregate."""

    name: str
    sample: Callable[[int], T]  # a distinct, valid aggregate for each number
    add: Callable[[AbstractUnitOfWork, T], Awaitable[None]]
    get: Callable[[AbstractUnitOfWork, T], Awaitable[T | None]]


def sample_user(n: int) -> User:
    return User.register(n, f"User {n}", f"user{n}@example.org", WRITTEN_AT)


async def add_user_unless_stored(uow: AbstractUnitOfWork, user_id: int) -> None:
    if await uow.users.get(user_id) is None:
        await uow.users.add(sample_user(user_id))


async def add_post(uow: AbstractUnitOfWork, post: Post) -> None:
    await add_user_unless_stored(uow, post.author_id)
    await uow.posts.add(post)


async def add_transfer(uow: AbstractUnitOfWork, transfer: Transfer) -> None:
    for account_id in (transfer.request.from_account, transfer.request.to_account):
        if await uow.accounts.get(account_id) is None:
            await uow.accounts.add(Account.open(account_id, f"owner {account_id}", 0))
    await uow.transfers.add(transfer)


def sample_transfer(n: int) -> Transfer:
    request = TransferRequest(from_account=1000 + n, to_account=2000 + n, amount_cents=n)
    return Transfer(n, request, IdempotencyKey(f"key-{n}"), WRITTEN_AT)


TODOS = AggregateProbe[Todo](
    name="todos",
    sample=lambda n: Todo.create(f"key-{n}", f"value {n}"),
    add=lambda uow, todo: uow.todos.add(todo),
    get=lambda uow, todo: uow.todos.get(todo.key),
)
USERS = AggregateProbe[User](
    name="users",
    sample=sample_user,
    add=lambda uow, user: uow.users.add(user),
    get=lambda uow, user: uow.users.get(user.id),
)
POSTS = AggregateProbe[Post](
    name="posts",
    sample=lambda n: Post.write(n, author_id=n, title=f"Post {n}", content=None, now=WRITTEN_AT),
    add=add_post,
    get=lambda uow, post: uow.posts.get(post.id),
)
ACCOUNTS = AggregateProbe[Account](
    name="accounts",
    sample=lambda n: Account.open(n, f"owner {n}", balance_cents=n * 100),
    add=lambda uow, account: uow.accounts.add(account),
    get=lambda uow, account: uow.accounts.get(account.id),
)
TRANSFERS = AggregateProbe[Transfer](
    name="transfers",
    sample=sample_transfer,
    add=add_transfer,
    get=lambda uow, transfer: uow.transfers.get_by_key(transfer.idempotency_key),
)

AGGREGATES: list[AggregateProbe[Any]] = [TODOS, USERS, POSTS, ACCOUNTS, TRANSFERS]
