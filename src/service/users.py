"""User use cases."""

from datetime import UTC, datetime

from domain.errors import NotFound
from domain.fields import check_id, check_int
from domain.paging import Page
from domain.posts import UserWithPosts
from domain.users import User, UserFilter
from service.contexts import BlogUnitOfWork
from service.retry import retried

DEFAULT_POSTS_PER_USER = 10
MAX_POSTS_PER_USER = 100


@retried(idempotent=False)
async def register_user(uow: BlogUnitOfWork, name: str, email: str) -> User:
    async with uow:
        user = User.register(await uow.users.next_id(), name, email, datetime.now(UTC))
        await uow.users.add(user)
        uow.collect(user)  # UserRegistered goes to the outbox with the user
        await uow.commit()
    return user


@retried(idempotent=True)
async def get_user(uow: BlogUnitOfWork, user_id: int) -> User:
    async with uow.read_only():
        return await existing_user(uow, user_id)


@retried(idempotent=True)
async def list_users(uow: BlogUnitOfWork, query: UserFilter) -> Page[User]:
    async with uow.read_only():
        return Page(tuple(await uow.users.find(query)), await uow.users.count(query))


@retried(idempotent=True)
async def list_users_with_posts(
    uow: BlogUnitOfWork, query: UserFilter, posts_per_user: int = DEFAULT_POSTS_PER_USER
) -> Page[UserWithPosts]:
    """A page of users, each with its first posts and how many it has: four queries whatever
    the page size, and a bounded answer however many posts a user writes."""
    check_int("posts_per_user", posts_per_user, minimum=1, maximum=MAX_POSTS_PER_USER)
    async with uow.read_only():
        users = await uow.users.find(query)
        ids = [user.id for user in users]
        posts = await uow.posts.by_authors(ids, per_author=posts_per_user)
        counts = await uow.posts.count_by_authors(ids)
        total = await uow.users.count(query)
    items = tuple(
        UserWithPosts(user, tuple(posts.get(user.id, [])), counts.get(user.id, 0)) for user in users
    )
    return Page(items, total)


async def existing_user(uow: BlogUnitOfWork, user_id: int) -> User:
    user = await uow.users.get(check_id("user_id", user_id))
    if user is None:
        raise NotFound("user", user_id)
    return user
