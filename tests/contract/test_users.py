"""The User and Post repository contracts, run on every backend, plus differential tests."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from adapters.dqlite.node import DqliteNode
from domain.errors import AlreadyExists
from domain.fields import folded
from domain.paging import Cursor, Page, Total
from domain.posts import Post, PostFilter
from domain.users import User, UserFilter
from service.contexts import BlogUnitOfWork
from service.unit_of_work import UnitsOfWork
from tests.contract.backends import Backend
from tests.contract.harness import (
    DIFFERENTIAL_SETTINGS,
    WRITTEN_AT,
    AggregateProbe,
    BackendMachine,
    on_memory_and_dqlite,
    run_machine,
)
from tests.contract.strategies import chars

# Users and posts: small alphabets so that names, emails and filters collide often.
offsets = st.sampled_from([timedelta(0), timedelta(hours=2), timedelta(hours=-5, minutes=-30)])
moments = st.builds(
    lambda seconds, offset: (
        datetime(2026, 1, 1, tzinfo=UTC).astimezone(timezone(offset))
        + timedelta(microseconds=seconds)
    ),
    st.integers(0, 10**12),
    offsets,
)
names = st.text(st.sampled_from("aAbé😀 _%"), min_size=1, max_size=6)
# Principals' subjects, and "" (users from before owners, who belong to nobody).
owners = st.sampled_from(["1", "2", "", "auth0|é😀"])
emails = st.builds(
    lambda local, domain: f"{local}@{domain}.org",
    st.text(st.sampled_from("aAbB."), min_size=1, max_size=3),
    st.sampled_from(["x", "X", "ex"]),
)


@st.composite
def user_filters(draw: st.DrawFn) -> UserFilter:
    """Any valid query: an offset only where one is allowed (no cursor, no substring)."""
    # Up to 4 characters: the trigram index looks up those of 3 or more.
    name_contains = draw(st.none() | st.text(st.sampled_from('aAé_"*'), max_size=4))
    email_contains = draw(st.none() | st.text(st.sampled_from("aAbB@x."), max_size=4))
    after = draw(st.none() | st.builds(lambda id: Cursor((id,)), st.integers(0, 13)))
    scans = name_contains is not None or email_contains is not None
    return UserFilter(
        owner=draw(st.none() | owners),
        active=draw(st.none() | st.booleans()),
        name_contains=name_contains,
        email_contains=email_contains,
        limit=draw(st.integers(1, 8) | st.just(1000)),
        offset=0 if scans or after else draw(st.integers(0, 8)),
        after=after,
        with_total=draw(st.booleans()),
    )


titles = st.text(chars, min_size=1, max_size=8)
contents = st.none() | st.text(chars, max_size=8)


async def store(units: UnitsOfWork, *items: User | Post) -> None:
    async with units(BlogUnitOfWork) as uow:
        for item in items:
            if isinstance(item, User):
                await uow.users.add(item)
            else:
                await uow.posts.add(item)
        await uow.commit()


async def find_user_page(units: UnitsOfWork, query: UserFilter) -> Page[User]:
    async with units(BlogUnitOfWork).read_only() as uow:
        return await uow.users.find(query)


async def find_users(units: UnitsOfWork, query: UserFilter) -> tuple[list[User], int]:
    """The page's users, and the total (counted whether `query` asks or not)."""
    page = await find_user_page(units, replace(query, with_total=True))
    assert page.total is not None
    assert not page.total.capped
    return list(page.items), page.total.count


async def test_optional_fields_and_times_read_back_exactly_as_written(
    units: UnitsOfWork,
) -> None:
    inactive = User.register(1, "auth0|é😀", "Ann", "Ann@Example.org", WRITTEN_AT)
    inactive.is_active = False
    in_india = datetime(2026, 5, 6, 7, 8, 9, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    posts = [
        Post.write(1, 1, "no content", None, WRITTEN_AT),
        Post.write(2, 1, "empty content", "", datetime(2026, 1, 1, tzinfo=UTC)),
        Post.write(3, 1, "published", "body", in_india),
    ]
    posts[2].published = True
    await store(units, inactive, *posts)

    async with units(BlogUnitOfWork).read_only() as uow:
        user = await uow.users.get(1)
        stored = [await uow.posts.get(post.id) for post in posts]

    assert user == inactive
    assert user is not None
    assert user.is_active is False
    assert user.owner == "auth0|é😀"
    assert stored == posts
    assert [p.content for p in stored if p] == [None, posts[1].content, posts[2].content]
    assert [p.created_at.utcoffset() for p in stored if p] == [
        timedelta(hours=2),
        timedelta(0),
        timedelta(hours=5, minutes=30),
    ]


def sample_user(n: int) -> User:
    return User.register(n, f"subject {n}", f"User {n}", f"user{n}@example.org", WRITTEN_AT)


async def add_user_unless_stored(uow: BlogUnitOfWork, user_id: int) -> None:
    if await uow.users.get(user_id) is None:
        await uow.users.add(sample_user(user_id))


async def add_post(uow: BlogUnitOfWork, post: Post) -> None:
    await add_user_unless_stored(uow, post.author_id)
    await uow.posts.add(post)


USERS = AggregateProbe[User, BlogUnitOfWork](
    name="users",
    context=BlogUnitOfWork,
    sample=sample_user,
    add=lambda uow, user: uow.users.add(user),
    get=lambda uow, user: uow.users.get(user.id),
)
POSTS = AggregateProbe[Post, BlogUnitOfWork](
    name="posts",
    context=BlogUnitOfWork,
    sample=lambda n: Post.write(n, author_id=n, title=f"Post {n}", content=None, now=WRITTEN_AT),
    add=add_post,
    get=lambda uow, post: uow.posts.get(post.id),
)


async def test_an_email_is_taken_whatever_its_letter_case(units: UnitsOfWork) -> None:
    await store(units, User.register(1, "1", "Ann", "Ann@Example.org", WRITTEN_AT))

    with pytest.raises(AlreadyExists):  # whoever registers it: emails are unique across owners
        await store(units, User.register(2, "2", "Other", "ann@EXAMPLE.ORG", WRITTEN_AT))

    assert [u.name.text for u in (await find_users(units, UserFilter()))[0]] == ["Ann"]


async def test_next_id_follows_the_highest_id_including_uncommitted_ones(
    units: UnitsOfWork,
) -> None:
    async with units(BlogUnitOfWork) as uow:
        assert await uow.users.next_id() == 1
        await uow.users.add(sample_user(7))
        assert await uow.users.next_id() == 8
    async with units(BlogUnitOfWork) as uow:
        assert await uow.users.next_id() == 1  # the add above was rolled back


async def test_users_are_filtered_together_ordered_by_id_and_counted(
    units: UnitsOfWork,
) -> None:
    users = [
        User.register(i, "1", name, f"{name}{i}@Mail.org", WRITTEN_AT)
        for i, name in [(3, "anna"), (1, "ANNA"), (2, "bob"), (4, "hanna"), (5, "annabel")]
    ]
    users[4].is_active = False
    await store(units, *users)

    query = UserFilter(
        active=True, name_contains="nna", email_contains="MAIL", limit=1, after=Cursor((3,))
    )
    items, total = await find_users(units, query)

    assert total == 2  # anna and hanna: names are case-sensitive, annabel is inactive
    assert [user.id for user in items] == [4]


async def test_users_are_listed_for_one_owner_or_for_every_owner(units: UnitsOfWork) -> None:
    owned = [("1", "Ann"), ("2", "Bob"), ("1", "Cy"), ("", "Old")]
    users = [
        User.register(i, owner, name, f"{name}@example.org", WRITTEN_AT)
        for i, (owner, name) in enumerate(owned, start=1)
    ]
    await store(units, *users)

    ones = await find_users(units, UserFilter(owner="1"))
    nobodys = await find_users(units, UserFilter(owner=""))
    everyones = await find_users(units, UserFilter())
    none_of_threes = await find_users(units, UserFilter(owner="3"))

    assert ones == ([users[0], users[2]], 2)
    assert nobodys == ([users[3]], 1)
    assert everyones == (users, 4)
    assert none_of_threes == ([], 0)


async def test_posts_of_many_authors_come_back_grouped_and_ordered(
    units: UnitsOfWork,
) -> None:
    authors = [sample_user(n) for n in (1, 2, 3)]
    posts = [
        Post.write(i, author, f"t{i}", None, WRITTEN_AT)
        for i, author in [(1, 2), (2, 1), (3, 2), (4, 3)]
    ]
    await store(units, *authors, *posts)

    async with units(BlogUnitOfWork).read_only() as uow:
        grouped = await uow.posts.by_authors([2, 1, 99])
        first_ones = await uow.posts.by_authors([2, 1, 99], per_author=1)
        counts = await uow.posts.count_by_authors([2, 1, 99])
        nothing = await uow.posts.by_authors([]), await uow.posts.count_by_authors([])
        of_two = await uow.posts.find(PostFilter(author_id=2, limit=1, offset=1))
        after_one = await uow.posts.find(PostFilter(author_id=2, limit=1, after=Cursor((1,))))

    assert grouped == {2: [posts[0], posts[2]], 1: [posts[1]]}
    assert first_ones == {2: [posts[0]], 1: [posts[1]]}
    assert counts == {2: 2, 1: 1}
    assert nothing == ({}, {})
    assert of_two == after_one == Page((posts[2],))


class UserPostMachine(BackendMachine):
    """Random registrations, posts and queries, checked against plain dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[int, User] = {}
        self.posts: dict[int, Post] = {}

    @rule(owner=owners, name=names, email=emails, active=st.booleans(), at=moments)
    def register(self, owner: str, name: str, email: str, active: bool, at: datetime) -> None:
        async def attempt() -> int:
            async with self.units(BlogUnitOfWork) as uow:
                user_id = await uow.users.next_id()
                user = User.register(user_id, owner, name, email, at)
                user.is_active = active
                await uow.users.add(user)
                await uow.commit()
                return user_id

        taken = {user.email.key for user in self.users.values()}
        if folded(email) in taken:
            with pytest.raises(AlreadyExists):
                self.run(attempt())
            return
        user_id = self.run(attempt())
        assert user_id == max(self.users, default=0) + 1
        self.users[user_id] = User.register(user_id, owner, name, email, at)
        self.users[user_id].is_active = active

    @precondition(lambda self: bool(self.users))
    @rule(data=st.data(), title=titles, content=contents, published=st.booleans(), at=moments)
    def write(
        self, data: st.DataObject, title: str, content: str | None, published: bool, at: datetime
    ) -> None:
        author = data.draw(st.sampled_from(sorted(self.users)))

        async def attempt() -> Post:
            async with self.units(BlogUnitOfWork) as uow:
                post = Post.write(await uow.posts.next_id(), author, title, content, at)
                post.published = published
                await uow.posts.add(post)
                await uow.commit()
                return post

        post = self.run(attempt())
        assert post.id == max(self.posts, default=0) + 1
        self.posts[post.id] = post

    @rule(query=user_filters())
    def find(self, query: UserFilter) -> None:
        matching = [
            user
            for _, user in sorted(self.users.items())
            if (query.owner is None or user.owner == query.owner)
            and (query.active is None or user.is_active == query.active)
            and (query.name_contains is None or query.name_contains in user.name.text)
            and (query.email_contains is None or folded(query.email_contains) in user.email.key)
        ]
        # Far fewer users than a page walks (SCAN_LIMIT): every page is full but the last.
        after = query.after
        following = [u for u in matching if after is None or (u.id,) > after.position]
        window = following[query.offset : query.offset + query.limit]
        more = len(following) > query.offset + query.limit
        total = Total(len(matching)) if query.with_total else None
        expected = Page(tuple(window), Cursor((window[-1].id,)) if more else None, total)
        assert self.run(find_user_page(self.units, query)) == expected

    @rule(ids=st.lists(st.integers(1, 6), max_size=4), per_author=st.none() | st.integers(1, 3))
    def posts_of(self, ids: list[int], per_author: int | None) -> None:
        async def read() -> tuple[dict[int, list[Post]], dict[int, int]]:
            async with self.units(BlogUnitOfWork).read_only() as uow:
                return (
                    await uow.posts.by_authors(ids, per_author),
                    await uow.posts.count_by_authors(ids),
                )

        every: dict[int, list[Post]] = {}
        for _, post in sorted(self.posts.items()):
            if post.author_id in ids:
                every.setdefault(post.author_id, []).append(post)
        first = {author: posts[:per_author] for author, posts in every.items()}
        assert self.run(read()) == (first, {a: len(posts) for a, posts in every.items()})


def test_users_and_posts_behave_like_plain_dicts_under_random_operations(
    backend: Backend,
) -> None:
    run_machine(UserPostMachine, backend)


@DIFFERENTIAL_SETTINGS
@given(
    people=st.lists(st.tuples(owners, names, emails, st.booleans(), moments), max_size=12),
    queries=st.lists(user_filters(), min_size=1, max_size=6),
)
def test_memory_and_dqlite_find_the_same_users_in_the_same_order(
    dqlite_node: DqliteNode,
    people: list[tuple[str, str, str, bool, datetime]],
    queries: list[UserFilter],
) -> None:
    users: dict[str, User] = {}
    for owner, name, email, active, at in people:
        if folded(email) not in users:
            user = User.register(len(users) + 1, owner, name, email, at)
            user.is_active = active
            users[folded(email)] = user

    async def scenario(units: UnitsOfWork) -> list[Page[User]]:
        await store(units, *users.values())
        return [await find_user_page(units, query) for query in queries]

    memory, dqlite = on_memory_and_dqlite(dqlite_node, scenario)
    assert dqlite == memory
