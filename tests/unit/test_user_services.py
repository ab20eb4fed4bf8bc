import pytest

from adapters.memory.store import InMemoryStore
from domain.errors import AlreadyExists, Forbidden, InvalidValue, NotFound
from domain.paging import Total
from domain.posts import PostFilter
from domain.principals import Principal
from domain.users import UserFilter
from service import posts, users
from service.contexts import BlogUnitOfWork

ALICE = Principal("1")
BOB = Principal("2")
ADMIN = Principal("9", frozenset({"admin"}))


@pytest.fixture
def uow(store: InMemoryStore) -> BlogUnitOfWork:
    return store.unit_of_work(BlogUnitOfWork)


async def test_registered_users_get_increasing_ids_a_utc_time_and_their_registrant_as_owner(
    uow: BlogUnitOfWork,
) -> None:
    first = await users.register_user(uow, ALICE, "Ann", "ann@example.org")
    second = await users.register_user(uow, BOB, "Bob", "bob@example.org")

    assert (first.id, second.id) == (1, 2)
    assert (first.owner, second.owner) == ("1", "2")
    assert first.created_at.utcoffset() is not None
    assert await users.get_user(uow, BOB, 2) == second


async def test_the_registered_event_names_the_owner(uow: BlogUnitOfWork) -> None:
    user = await users.register_user(uow, ALICE, "Ann", "ann@example.org")

    async with uow.read_only():
        [stored] = await uow.outbox.undelivered(limit=10)

    assert stored.payload == {
        "user_id": user.id,
        "name": "Ann",
        "email": "ann@example.org",
        "owner": "1",
    }


async def test_an_email_in_another_case_conflicts_and_registers_nobody(
    uow: BlogUnitOfWork,
) -> None:
    await users.register_user(uow, ALICE, "Ann", "ann@example.org")

    with pytest.raises(AlreadyExists):
        await users.register_user(uow, BOB, "Ann 2", "ANN@example.org")
    assert (await users.list_users(uow, ADMIN, UserFilter(with_total=True))).total == Total(1)


async def test_someone_elses_user_is_not_found_and_an_admin_reads_it(uow: BlogUnitOfWork) -> None:
    ann = await users.register_user(uow, ALICE, "Ann", "ann@example.org")

    with pytest.raises(NotFound, match="user 1 does not exist"):
        await users.get_user(uow, BOB, ann.id)
    assert await users.get_user(uow, ADMIN, ann.id) == ann


async def test_each_principal_lists_only_their_own_users_and_an_admin_lists_all(
    uow: BlogUnitOfWork,
) -> None:
    ann = await users.register_user(uow, ALICE, "Ann", "ann@example.org")
    bob = await users.register_user(uow, BOB, "Bob", "bob@example.org")
    cy = await users.register_user(uow, ALICE, "Cy", "cy@example.org")

    alices = await users.list_users(uow, ALICE, UserFilter(with_total=True))
    bobs_asking_for_alices = await users.list_users(
        uow, BOB, UserFilter(owner="1", with_total=True)
    )
    admins = await users.list_users(uow, ADMIN, UserFilter())
    admins_of_alice = await users.list_users(uow, ADMIN, UserFilter(owner="1"))

    assert (alices.items, alices.total) == ((ann, cy), Total(2))
    assert (bobs_asking_for_alices.items, bobs_asking_for_alices.total) == ((bob,), Total(1))
    assert admins.items == (ann, bob, cy)
    assert admins_of_alice.items == (ann, cy)


async def test_users_with_posts_are_only_the_principals_own(uow: BlogUnitOfWork) -> None:
    ann = await users.register_user(uow, ALICE, "Ann", "ann@example.org")
    await users.register_user(uow, BOB, "Bob", "bob@example.org")
    post = await posts.write_post(uow, ALICE, ann.id, "one", None)

    alices = await users.list_users_with_posts(uow, ALICE, UserFilter(with_total=True))
    admins = await users.list_users_with_posts(uow, ADMIN, UserFilter(with_total=True))

    assert [(i.user.id, i.posts) for i in alices.items] == [(ann.id, (post,))]
    assert alices.total == Total(1)
    assert admins.total == Total(2)


async def test_a_post_by_an_unknown_user_is_not_found_and_not_stored(
    uow: BlogUnitOfWork,
) -> None:
    with pytest.raises(NotFound, match="user 7"):
        await posts.write_post(uow, ALICE, 7, "title", None)
    with pytest.raises(NotFound, match="user 7"):
        await posts.list_posts(uow, ALICE, PostFilter(author_id=7))


async def test_nobody_writes_as_someone_elses_user_an_admin_is_refused_openly(
    uow: BlogUnitOfWork,
) -> None:
    ann = await users.register_user(uow, ALICE, "Ann", "ann@example.org")

    with pytest.raises(NotFound, match="user 1 does not exist"):
        await posts.write_post(uow, BOB, ann.id, "as Ann", None)
    with pytest.raises(Forbidden):
        await posts.write_post(uow, ADMIN, ann.id, "as Ann", None)
    assert (
        await posts.list_posts(uow, ALICE, PostFilter(author_id=ann.id, with_total=True))
    ).total == Total(0)


async def test_anyones_posts_are_read_by_every_principal_with_their_author(
    uow: BlogUnitOfWork,
) -> None:
    author = await users.register_user(uow, ALICE, "Ann", "ann@example.org")
    post = await posts.write_post(uow, ALICE, author.id, "Hello", "body")

    pair = await posts.get_post(uow, BOB, post.id)
    listed = await posts.list_posts(uow, BOB, PostFilter(author_id=author.id))

    assert (pair.post, pair.author) == (post, author)
    assert listed.items == (post,)


async def test_users_come_with_all_their_posts_and_only_theirs(uow: BlogUnitOfWork) -> None:
    ann = await users.register_user(uow, ALICE, "Ann", "ann@example.org")
    bob = await users.register_user(uow, ALICE, "Bob", "bob@example.org")
    first = await posts.write_post(uow, ALICE, ann.id, "one", None)
    second = await posts.write_post(uow, ALICE, ann.id, "two", None)

    page = await users.list_users_with_posts(uow, ALICE, UserFilter())

    assert [(i.user.id, i.posts, i.posts_total) for i in page.items] == [
        (ann.id, (first, second), 2),
        (bob.id, (), 0),
    ]


async def test_users_come_with_their_first_posts_only_and_the_count_of_all(
    uow: BlogUnitOfWork,
) -> None:
    ann = await users.register_user(uow, ALICE, "Ann", "ann@example.org")
    written = [await posts.write_post(uow, ALICE, ann.id, f"post {n}", None) for n in range(5)]

    page = await users.list_users_with_posts(uow, ALICE, UserFilter(), posts_per_user=2)

    assert [(i.posts, i.posts_total) for i in page.items] == [(tuple(written[:2]), 5)]
    with pytest.raises(InvalidValue, match="posts_per_user"):
        await users.list_users_with_posts(uow, ALICE, UserFilter(), posts_per_user=101)


async def test_an_invalid_user_id_is_rejected_before_any_lookup(uow: BlogUnitOfWork) -> None:
    with pytest.raises(InvalidValue, match="user_id"):
        await users.get_user(uow, ALICE, 0)
