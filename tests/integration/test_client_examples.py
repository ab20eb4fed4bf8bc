"""Every example use case through the generated client only (clients/python): todos, a user
with posts, accounts and an idempotent transfer, and a 404 read as the typed Problem."""

from collections.abc import Iterator

import pytest
from api_client import AuthenticatedClient
from api_client.api.accounts import accounts_get_account, accounts_open_account
from api_client.api.posts import posts_get_post, posts_list_posts_of_user, posts_write_post
from api_client.api.todos import (
    todos_create_todo,
    todos_delete_todo,
    todos_get_todo,
    todos_list_todos,
    todos_update_todo,
)
from api_client.api.transfers import transfers_list_transfers, transfers_make_transfer
from api_client.api.users import users_get_user, users_register_user
from api_client.models import (
    AccountIn,
    AccountOut,
    PostIn,
    PostOut,
    Problem,
    TodoChange,
    TodoIn,
    TodoOut,
    TransferIn,
    TransferOut,
    UserIn,
    UserOut,
)

from tests.integration.process import AppProcess
from tests.integration.test_client import signed_in

pytestmark = pytest.mark.dqlite


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthenticatedClient]:
    process = AppProcess(tmp_path_factory.mktemp("client-examples"), module="entrypoints")
    try:
        process.start()
        yield signed_in(process, "examples@example.org")
    finally:
        process.stop()


def test_a_todo_is_created_read_changed_listed_and_deleted(client: AuthenticatedClient) -> None:
    created = todos_create_todo.sync(client=client, body=TodoIn(key="milk", value="2 l"))
    assert isinstance(created, TodoOut)
    assert created.value == "2 l"

    changed = todos_update_todo.sync("milk", client=client, body=TodoChange(done=True))
    read = todos_get_todo.sync("milk", client=client)
    page = todos_list_todos.sync(client=client, key_contains="mil", total=True)
    deleted = todos_delete_todo.sync_detailed("milk", client=client)
    gone = todos_get_todo.sync_detailed("milk", client=client)

    assert isinstance(changed, TodoOut)
    assert changed.done
    assert read == changed
    assert page is not None
    assert not isinstance(page, Problem)
    assert [todo.key for todo in page.items] == ["milk"]
    assert (page.total, page.next_) == (1, None)
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert isinstance(gone.parsed, Problem)
    assert "milk" in gone.parsed.detail


def test_a_user_writes_posts_that_are_read_back(client: AuthenticatedClient) -> None:
    user = users_register_user.sync(client=client, body=UserIn(name="Ada", email="ada@example.org"))
    assert isinstance(user, UserOut)

    post = posts_write_post.sync(user.id, client=client, body=PostIn(title="Notes"))
    read_user = users_get_user.sync(user.id, client=client)
    posts = posts_list_posts_of_user.sync(user.id, client=client)

    assert isinstance(post, PostOut)
    assert post.author_id == user.id
    assert isinstance(read_user, UserOut)
    assert read_user.email == "ada@example.org"
    assert posts is not None
    assert not isinstance(posts, Problem)
    assert [p.id for p in posts.items] == [post.id]
    read_post = posts_get_post.sync(post.id, client=client)
    assert read_post is not None
    assert not isinstance(read_post, Problem)
    assert read_post.author.name == "Ada"


def test_a_transfer_moves_money_once_per_idempotency_key(client: AuthenticatedClient) -> None:
    source = accounts_open_account.sync(
        client=client, body=AccountIn(holder="a", balance_cents=500)
    )
    target = accounts_open_account.sync(client=client, body=AccountIn(holder="b"))
    assert isinstance(source, AccountOut)
    assert isinstance(target, AccountOut)
    body = TransferIn(from_account=source.id, to_account=target.id, amount_cents=200)

    first = transfers_make_transfer.sync_detailed(
        client=client, body=body, idempotency_key="client-transfer-1"
    )
    replayed = transfers_make_transfer.sync_detailed(
        client=client, body=body, idempotency_key="client-transfer-1"
    )

    assert first.status_code == 201
    assert replayed.status_code == 201
    assert isinstance(first.parsed, TransferOut)
    assert replayed.parsed == first.parsed
    assert replayed.headers["Idempotent-Replayed"] == "true"
    after = accounts_get_account.sync(source.id, client=client)
    assert isinstance(after, AccountOut)
    assert after.balance_cents == 300
    listed = transfers_list_transfers.sync(client=client, account=source.id, total=True)
    assert listed is not None
    assert not isinstance(listed, Problem)
    assert (listed.total, listed.next_) == (1, None)
