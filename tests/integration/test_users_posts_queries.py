"""How many SQL statements the read use cases send to a real dqlite node.

Every statement SQLAlchemy sends through the engine is counted (`before_cursor_execute`), so a
use case that queried once per user or per post ("N+1") would show as a count that grows with
the page size. The naive loop below shows the counting sees such growth.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import TextClause, event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.contexts import context_named
from adapters.dqlite.engine import TooManyParameters
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from domain.errors import NotFound
from domain.paging import Total
from domain.posts import Post, PostFilter
from domain.principals import Principal
from domain.users import User, UserFilter
from service.contexts import BlogUnitOfWork
from service.posts import get_post, write_post
from service.users import list_users_with_posts, register_user
from tests.dqlite import fresh_database
from tests.measurements import measured

USERS = 50
PAGE_SIZES = (1, 10, 50)
MAX_STATEMENTS_FOR_A_PAGE = 4
MAX_STATEMENTS_FOR_A_POST = 2
WIDE_BLOG_USERS = 300  # more than 255, the most parameters libdqlite 1.11.1 binds right


@dataclass(frozen=True)
class Blog:
    """What was written through the use cases: users by id, each one's posts in id order."""

    users: dict[int, User]
    posts: dict[int, list[Post]]

    def posts_of_first(self, page_size: int) -> list[tuple[User, tuple[Post, ...]]]:
        ids = sorted(self.users)[:page_size]
        return [(self.users[i], tuple(self.posts[i])) for i in ids]


WRITER = Principal("writer")  # who registers every user here, so who reads them all
BLOG = context_named("blog")  # users and posts: the blog context's database


@pytest.fixture
async def engine(dqlite_node: DqliteNode) -> AsyncIterator[AsyncEngine]:
    """An engine on a new database with the blog context's tables (and its outbox)."""
    async with fresh_database(dqlite_node, BLOG.metadata) as engine:
        yield engine


def unit_of_work(engine: AsyncEngine) -> BlogUnitOfWork:
    """A unit of work of the blog context on `engine` alone (no writers' queue, no read-only
    pool), so that every statement it sends goes through `engine`."""
    uow = BLOG.implemented_by(SqlAlchemyUnitOfWork)(engine, registrations=BLOG.registrations)
    assert isinstance(uow, BlogUnitOfWork)
    return uow


@pytest.fixture
async def blog(engine: AsyncEngine) -> Blog:
    """USERS users; user number n wrote n % 4 posts (so some wrote none), some without content."""
    uow = unit_of_work(engine)
    users: dict[int, User] = {}
    posts: dict[int, list[Post]] = {}
    for n in range(USERS):
        user = await register_user(uow, WRITER, f"User {n}", f"user{n}@example.org")
        users[user.id] = user
        posts[user.id] = []
        for p in range(n % 4):
            content = None if p == 1 else f"post {p} of user {n}"
            posts[user.id].append(await write_post(uow, WRITER, user.id, f"title {n}.{p}", content))
    return Blog(users, posts)


@contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` while the block runs, in order."""
    sent: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def naive_users_with_posts(
    uow: BlogUnitOfWork, page_size: int
) -> list[tuple[User, tuple[Post, ...]]]:
    """The N+1 way: one query for the users, then one more per user for its posts."""
    async with uow.read_only():
        users = await uow.users.find(UserFilter(limit=page_size))
        return [(u, (await uow.posts.find(PostFilter(author_id=u.id))).items) for u in users.items]


async def test_a_page_of_users_with_their_posts_takes_the_same_few_statements_at_any_size(
    engine: AsyncEngine, blog: Blog
) -> None:
    uow = unit_of_work(engine)
    counts: dict[int, int] = {}
    for size in PAGE_SIZES:
        with statements_sent(engine) as sent:
            page = await list_users_with_posts(uow, WRITER, UserFilter(limit=size, with_total=True))
        counts[size] = len(sent)

        assert [(item.user, item.posts) for item in page.items] == blog.posts_of_first(size)
        assert page.total == Total(USERS)
    measured(f"statements for a page of users with their posts, by page size: {counts}")

    assert len(set(counts.values())) == 1, counts
    assert counts[PAGE_SIZES[0]] <= MAX_STATEMENTS_FOR_A_PAGE, counts


async def test_the_statement_count_grows_with_the_page_when_posts_are_read_user_by_user(
    engine: AsyncEngine, blog: Blog
) -> None:
    uow = unit_of_work(engine)
    counts: dict[int, int] = {}
    for size in PAGE_SIZES:
        with statements_sent(engine) as sent:
            naive = await naive_users_with_posts(uow, size)
        counts[size] = len(sent)

        assert naive == blog.posts_of_first(size)
    measured(f"statements for the same pages read user by user (N+1): {counts}")

    assert counts == {size: 1 + size for size in PAGE_SIZES}


async def test_every_post_of_every_user_comes_back_on_a_full_page_and_none_of_another_user(
    engine: AsyncEngine, blog: Blog
) -> None:
    page = await list_users_with_posts(unit_of_work(engine), WRITER, UserFilter(limit=USERS))

    assert sum(len(item.posts) for item in page.items) == sum(len(p) for p in blog.posts.values())
    assert any(item.posts == () for item in page.items), "every user has posts: widen the blog"
    for item in page.items:
        assert all(post.author_id == item.user.id for post in item.posts)
        assert item.posts == tuple(blog.posts[item.user.id])


async def test_a_later_page_of_users_with_posts_holds_that_pages_users_and_their_posts(
    engine: AsyncEngine, blog: Blog
) -> None:
    with statements_sent(engine) as sent:
        page = await list_users_with_posts(
            unit_of_work(engine), WRITER, UserFilter(limit=7, offset=20, with_total=True)
        )

    expected_ids = sorted(blog.users)[20:27]
    assert [item.user.id for item in page.items] == expected_ids
    assert [item.posts for item in page.items] == [tuple(blog.posts[i]) for i in expected_ids]
    assert page.total == Total(USERS)
    assert len(sent) <= MAX_STATEMENTS_FOR_A_PAGE


async def test_reading_a_post_with_its_author_takes_the_same_few_statements_for_every_post(
    engine: AsyncEngine, blog: Blog
) -> None:
    uow = unit_of_work(engine)
    every_post = [post for posts in blog.posts.values() for post in posts]
    counts: list[int] = []
    for post in every_post[:: max(1, len(every_post) // 10)]:
        with statements_sent(engine) as sent:
            read = await get_post(uow, WRITER, post.id)
        counts.append(len(sent))

        assert read.post == post
        assert read.author == blog.users[post.author_id]
    measured(f"statements for reading one post with its author, {len(counts)} posts: {counts}")

    assert len(counts) >= 10
    assert set(counts) == {counts[0]}, counts
    assert counts[0] <= MAX_STATEMENTS_FOR_A_POST


async def test_reading_a_missing_post_is_not_found_after_one_statement(
    engine: AsyncEngine, blog: Blog
) -> None:
    missing = max(post.id for posts in blog.posts.values() for post in posts) + 1

    with statements_sent(engine) as sent, pytest.raises(NotFound):
        await get_post(unit_of_work(engine), WRITER, missing)

    assert len(sent) == 1, sent


@pytest.fixture
async def wide_blog(engine: AsyncEngine) -> Blog:
    """WIDE_BLOG_USERS users with one post each, written in one unit of work (to be quick)."""
    uow = unit_of_work(engine)
    now = datetime.now(UTC)
    users: dict[int, User] = {}
    posts: dict[int, list[Post]] = {}
    async with uow:
        for n in range(1, WIDE_BLOG_USERS + 1):
            users[n] = User.register(n, WRITER.subject, f"User {n}", f"user{n}@example.org", now)
            await uow.users.add(users[n])
            posts[n] = [Post.write(n, n, f"title {n}", f"post of user {n}", now)]
            await uow.posts.add(posts[n][0])
        await uow.commit()
    return Blog(users, posts)


@pytest.mark.parametrize(
    "page_size",
    [
        pytest.param(255, id="255"),
        pytest.param(256, id="256"),
        pytest.param(300, id="300"),
    ],
)
async def test_a_page_of_more_than_255_users_still_holds_every_users_posts(
    engine: AsyncEngine, wide_blog: Blog, page_size: int
) -> None:
    query = UserFilter(limit=page_size, with_total=True)
    page = await list_users_with_posts(unit_of_work(engine), WRITER, query)

    assert [(item.user, item.posts) for item in page.items] == wide_blog.posts_of_first(page_size)
    assert page.total == Total(WIDE_BLOG_USERS)


def selecting(count: int) -> tuple[TextClause, dict[str, int]]:
    """SELECT :p0, :p1, ... with `count` bound parameters."""
    names = [f"p{n}" for n in range(count)]
    return text("SELECT " + ", ".join(f":{name}" for name in names)), dict(
        zip(names, range(count), strict=True)
    )


async def test_a_statement_binding_more_than_255_parameters_is_refused_before_the_node(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        assert (await connection.execute(*selecting(255))).one()[-1] == 254
        with pytest.raises(TooManyParameters, match="256 bound parameters"):
            await connection.execute(*selecting(256))
