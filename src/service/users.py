"""User use cases. Each takes the principal asking: a user belongs to the principal who
registered it, who alone sees it; an admin sees every user."""

from datetime import UTC, datetime

from domain.errors import NotFound
from domain.fields import check_id, check_int
from domain.paging import Page
from domain.posts import UserWithPosts
from domain.principals import Principal
from domain.users import User, UserFilter
from service.contexts import BlogUnitOfWork
from service.retry import retried

DEFAULT_POSTS_PER_USER = 10
MAX_POSTS_PER_USER = 100


@retried(idempotent=False)
async def register_user(uow: BlogUnitOfWork, principal: Principal, name: str, email: str) -> User:
    async with uow:
        user_id = await uow.users.next_id()
        user = User.register(user_id, principal.subject, name, email, datetime.now(UTC))
        await uow.users.add(user)
        uow.collect(user)  # UserRegistered goes to the outbox with the user
        await uow.commit(user)
    return user


@retried(idempotent=True)
async def get_user(uow: BlogUnitOfWork, principal: Principal, user_id: int) -> User:
    """The user; NotFound if it is someone else's, as if it did not exist."""
    async with uow.read_only(snapshot=False):  # one statement
        user = await existing_user(uow, user_id)
    principal.check_may_read(user.owner, "user", user_id)
    return user


@retried(idempotent=True)
async def list_users(uow: BlogUnitOfWork, principal: Principal, query: UserFilter) -> Page[User]:
    """The principal's own users that match (an admin's: everyone's)."""
    async with uow.read_only():
        return await uow.users.find(query.seen_by(principal))


@retried(idempotent=True)
async def list_users_with_posts(
    uow: BlogUnitOfWork,
    principal: Principal,
    query: UserFilter,
    posts_per_user: int = DEFAULT_POSTS_PER_USER,
) -> Page[UserWithPosts]:
    """A page of the principal's users, each with its first posts and how many it has: four
    queries whatever the page size, and a bounded answer however many posts a user writes."""
    check_int("posts_per_user", posts_per_user, minimum=1, maximum=MAX_POSTS_PER_USER)
    visible = query.seen_by(principal)
    async with uow.read_only():
        users = await uow.users.find(visible)
        ids = [user.id for user in users.items]
        posts = await uow.posts.by_authors(ids, per_author=posts_per_user)
        counts = await uow.posts.count_by_authors(ids)
    items = tuple(
        UserWithPosts(user, tuple(posts.get(user.id, [])), counts.get(user.id, 0))
        for user in users.items
    )
    return Page(items, users.next, users.total)


async def existing_user(uow: BlogUnitOfWork, user_id: int) -> User:
    """The user, whoever owns it; callers decide who may see it."""
    user = await uow.users.get(check_id("user_id", user_id))
    if user is None:
        raise NotFound("user", user_id)
    return user
