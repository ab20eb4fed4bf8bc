import pytest

from adapters.memory.store import InMemoryStore
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.posts import PostFilter
from domain.users import UserFilter
from service import posts, users
from service.contexts import BlogUnitOfWork


@pytest.fixture
def uow(store: InMemoryStore) -> BlogUnitOfWork:
    return store.unit_of_work(BlogUnitOfWork)


async def test_registered_users_get_increasing_ids_and_a_utc_time(uow: BlogUnitOfWork) -> None:
    first = await users.register_user(uow, "Ann", "ann@example.org")
    second = await users.register_user(uow, "Bob", "bob@example.org")

    assert (first.id, second.id) == (1, 2)
    assert first.created_at.utcoffset() is not None
    assert await users.get_user(uow, 2) == second


async def test_an_email_in_another_case_conflicts_and_registers_nobody(
    uow: BlogUnitOfWork,
) -> None:
    await users.register_user(uow, "Ann", "ann@example.org")

    with pytest.raises(AlreadyExists):
        await users.register_user(uow, "Ann 2", "ANN@example.org")
    assert (await users.list_users(uow, UserFilter())).total == 1


async def test_a_post_by_an_unknown_user_is_not_found_and_not_stored(
    uow: BlogUnitOfWork,
) -> None:
    with pytest.raises(NotFound, match="user 7"):
        await posts.write_post(uow, 7, "title", None)
    with pytest.raises(NotFound, match="user 7"):
        await posts.list_posts(uow, PostFilter(author_id=7))


async def test_a_post_is_read_with_its_author(uow: BlogUnitOfWork) -> None:
    author = await users.register_user(uow, "Ann", "ann@example.org")
    post = await posts.write_post(uow, author.id, "Hello", "body")

    pair = await posts.get_post(uow, post.id)

    assert (pair.post, pair.author) == (post, author)


async def test_users_come_with_all_their_posts_and_only_theirs(uow: BlogUnitOfWork) -> None:
    ann = await users.register_user(uow, "Ann", "ann@example.org")
    bob = await users.register_user(uow, "Bob", "bob@example.org")
    first = await posts.write_post(uow, ann.id, "one", None)
    second = await posts.write_post(uow, ann.id, "two", None)

    page = await users.list_users_with_posts(uow, UserFilter())

    assert [(i.user.id, i.posts, i.posts_total) for i in page.items] == [
        (ann.id, (first, second), 2),
        (bob.id, (), 0),
    ]


async def test_users_come_with_their_first_posts_only_and_the_count_of_all(
    uow: BlogUnitOfWork,
) -> None:
    ann = await users.register_user(uow, "Ann", "ann@example.org")
    written = [await posts.write_post(uow, ann.id, f"post {n}", None) for n in range(5)]

    page = await users.list_users_with_posts(uow, UserFilter(), posts_per_user=2)

    assert [(i.posts, i.posts_total) for i in page.items] == [(tuple(written[:2]), 5)]
    with pytest.raises(InvalidValue, match="posts_per_user"):
        await users.list_users_with_posts(uow, UserFilter(), posts_per_user=101)


async def test_an_invalid_user_id_is_rejected_before_any_lookup(uow: BlogUnitOfWork) -> None:
    with pytest.raises(InvalidValue, match="user_id"):
        await users.get_user(uow, 0)
