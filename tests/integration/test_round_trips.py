"""Round trips to dqlite per use case, counted at the wire client: what one request costs the
node, whatever the machine's speed (the bench reports the same counts for each endpoint)."""

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import DqliteStore
from domain.idempotency import IdempotencyKey
from domain.principals import Principal
from domain.transfers import TransferRequest
from service import accounts, todos, transfers
from service.contexts import BankUnitOfWork, TodosUnitOfWork
from tests.answering import answering
from tests.dqlite import fresh_store

ALICE = Principal("alice")


@pytest.fixture
async def store(dqlite_node: DqliteNode) -> AsyncIterator[DqliteStore]:
    async with fresh_store(dqlite_node) as store:
        yield store


async def round_trips(store: DqliteStore, use_case: Callable[[], Awaitable[object]]) -> int:
    """The round trips of the second of two runs: the first may open pooled connections."""
    await use_case()
    before = store.tracker.round_trips.count
    await use_case()
    return store.tracker.round_trips.count - before


async def test_a_point_read_by_key_is_one_round_trip(store: DqliteStore) -> None:
    await todos.create_todo(store.unit_of_work(TodosUnitOfWork), ALICE, "milk", "2 litres")

    async def read() -> None:
        await todos.get_todo(store.unit_of_work(TodosUnitOfWork), ALICE, "milk")

    assert await round_trips(store, read) == 1


async def test_a_one_row_insert_is_three_round_trips(store: DqliteStore) -> None:
    keys = iter(range(10))

    async def insert() -> None:
        await todos.create_todo(store.unit_of_work(TodosUnitOfWork), ALICE, f"k{next(keys)}", "v")

    assert await round_trips(store, insert) == 3


async def test_a_transfer_is_nine_round_trips(
    store: DqliteStore,
) -> None:
    for _ in range(2):
        await accounts.open_account(store.unit_of_work(BankUnitOfWork), ALICE, "alice", 10**6)
    keys = iter(range(10))

    async def transfer() -> None:
        request = TransferRequest(from_account=1, to_account=2, amount_cents=1)
        key = f"key-{next(keys)}"
        uow = answering(store.unit_of_work(BankUnitOfWork), ALICE, key, request)
        await transfers.make_transfer(uow, ALICE, request, IdempotencyKey(key))

    # As the API makes it, under its key: BEGIN; the key's stored answer; the source account,
    # the target account; two UPDATEs; the next id; the transfer's INSERT, the answer's; COMMIT.
    assert await round_trips(store, transfer) == 10
