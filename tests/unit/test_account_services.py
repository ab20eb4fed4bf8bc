import pytest

from adapters.memory.store import InMemoryStore, InMemoryUnitOfWork
from domain.accounts import Account, InsufficientFunds
from domain.errors import Conflict, Forbidden, InvalidValue, NotFound
from domain.idempotency import IdempotencyKey, IdempotencyKeyReused
from domain.paging import Total
from domain.principals import Principal
from domain.transfers import TransferFilter, TransferRequest
from service import accounts, transfers
from service.contexts import BankUnitOfWork
from service.idempotency import AnswerReplayed
from service.transfers import MAX_ATTEMPTS
from tests.answering import answer_of, answering

ALICE = Principal("1")
BOB = Principal("2")
ADMIN = Principal("9", frozenset({"admin"}))


class InterferedUnitOfWork(InMemoryUnitOfWork, BankUnitOfWork):
    """Someone else changes every account the use case writes, the first `times` times."""

    def __init__(self, store: InMemoryStore, times: int) -> None:
        super().__init__(store, store.databases[BankUnitOfWork])
        self.interferences_left = times

    async def __aenter__(self) -> "InterferedUnitOfWork":
        await super().__aenter__()
        update = self.accounts.update

        async def update_after_someone_else(account: Account) -> None:
            if self.interferences_left > 0:
                self.interferences_left -= 1
                self._database.tables["accounts"][account.id].version += 1
            await update(account)

        self.accounts.update = update_after_someone_else  # type: ignore[method-assign]
        return self


@pytest.fixture
def uow(store: InMemoryStore) -> BankUnitOfWork:
    return store.unit_of_work(BankUnitOfWork)


async def balances(uow: BankUnitOfWork) -> list[int]:
    return [(await accounts.get_account(uow, ADMIN, n)).balance_cents for n in (1, 2)]


@pytest.fixture
async def two_accounts(uow: BankUnitOfWork) -> BankUnitOfWork:
    """Account 1 is alice's, with 1000 cents; account 2 is bob's, empty."""
    await accounts.open_account(uow, ALICE, "Ann", 1000)
    await accounts.open_account(uow, BOB, "Bob", 0)
    return uow


async def test_an_account_is_owned_by_who_opened_it_and_held_in_the_name_given(
    uow: BankUnitOfWork,
) -> None:
    opened = await accounts.open_account(uow, ALICE, "Ann Lee", 5)

    assert (opened.owner, opened.holder.text) == ("1", "Ann Lee")
    assert await accounts.get_account(uow, ALICE, opened.id) == opened


async def test_someone_elses_account_is_not_found_and_an_admin_reads_it(
    two_accounts: BankUnitOfWork,
) -> None:
    with pytest.raises(NotFound, match="account 1 does not exist"):
        await accounts.get_account(two_accounts, BOB, 1)
    assert (await accounts.get_account(two_accounts, ADMIN, 1)).owner == "1"


async def test_money_leaves_only_ones_own_account_even_for_an_admin(
    two_accounts: BankUnitOfWork,
) -> None:
    with pytest.raises(NotFound, match="account 1 does not exist"):
        await transfers.make_transfer(
            two_accounts, BOB, TransferRequest(1, 2, 5), IdempotencyKey("k")
        )
    with pytest.raises(Forbidden):
        await transfers.make_transfer(
            two_accounts, ADMIN, TransferRequest(1, 2, 5), IdempotencyKey("k")
        )
    assert await balances(two_accounts) == [1000, 0]


async def test_someone_elses_key_replays_nothing_for_them(
    two_accounts: BankUnitOfWork, store: InMemoryStore
) -> None:
    request, key = TransferRequest(1, 2, 300), IdempotencyKey("k")
    await transfers.make_transfer(answering(two_accounts, ALICE, "k", request), ALICE, request, key)

    with pytest.raises(NotFound, match="account 1"):
        bobs = answering(store.unit_of_work(BankUnitOfWork), BOB, "k", request)
        await transfers.make_transfer(bobs, BOB, request, key)
    assert await balances(two_accounts) == [700, 300]


async def test_transfers_are_listed_to_the_owner_of_the_account_named(
    two_accounts: BankUnitOfWork,
) -> None:
    made = await transfers.make_transfer(
        two_accounts, ALICE, TransferRequest(1, 2, 300), IdempotencyKey("k")
    )

    with pytest.raises(NotFound, match="account 1"):
        await transfers.list_transfers(two_accounts, BOB, TransferFilter(account_id=1))
    with pytest.raises(InvalidValue, match="account"):
        await transfers.list_transfers(two_accounts, ALICE, TransferFilter())
    of_admin = await transfers.list_transfers(two_accounts, ADMIN, TransferFilter(account_id=1))
    assert of_admin.items == (made,)


async def test_a_transfer_moves_money_and_is_listed_for_both_accounts(
    two_accounts: BankUnitOfWork,
) -> None:
    made = await transfers.make_transfer(
        two_accounts, ALICE, TransferRequest(1, 2, 300), IdempotencyKey("k")
    )

    assert await balances(two_accounts) == [700, 300]
    for owner, account_id in ((ALICE, 1), (BOB, 2)):
        page = await transfers.list_transfers(
            two_accounts, owner, TransferFilter(account_id=account_id)
        )
        assert page.items == (made,)


async def test_a_replayed_key_returns_the_first_answer_and_moves_nothing(
    two_accounts: BankUnitOfWork, store: InMemoryStore
) -> None:
    request, key = TransferRequest(1, 2, 300), IdempotencyKey("k")
    uow = answering(two_accounts, ALICE, "k", request)
    first = await transfers.make_transfer(uow, ALICE, request, key)

    with pytest.raises(AnswerReplayed) as replayed:
        again = answering(store.unit_of_work(BankUnitOfWork), ALICE, "k", request)
        await transfers.make_transfer(again, ALICE, request, key)

    assert replayed.value.answer == answer_of(first)
    assert await balances(two_accounts) == [700, 300]


async def test_a_key_reused_for_another_transfer_is_refused(
    two_accounts: BankUnitOfWork, store: InMemoryStore
) -> None:
    first, other = TransferRequest(1, 2, 300), TransferRequest(1, 2, 301)
    uow = answering(two_accounts, ALICE, "k", first)
    await transfers.make_transfer(uow, ALICE, first, IdempotencyKey("k"))

    with pytest.raises(IdempotencyKeyReused):
        again = answering(store.unit_of_work(BankUnitOfWork), ALICE, "k", other)
        await transfers.make_transfer(again, ALICE, other, IdempotencyKey("k"))
    assert await balances(two_accounts) == [700, 300]


async def test_insufficient_funds_change_no_balance_and_record_nothing(
    two_accounts: BankUnitOfWork,
) -> None:
    with pytest.raises(InsufficientFunds):
        await transfers.make_transfer(
            two_accounts, ALICE, TransferRequest(1, 2, 1001), IdempotencyKey("k")
        )

    assert await balances(two_accounts) == [1000, 0]
    assert (
        await transfers.list_transfers(two_accounts, ADMIN, TransferFilter(with_total=True))
    ).total == Total(0)


async def test_a_transfer_to_an_unknown_account_is_not_found(
    two_accounts: BankUnitOfWork,
) -> None:
    with pytest.raises(NotFound, match="account 3"):
        await transfers.make_transfer(
            two_accounts, ALICE, TransferRequest(1, 3, 5), IdempotencyKey("k")
        )
    assert await balances(two_accounts) == [1000, 0]


async def test_a_stale_write_is_retried_and_then_succeeds_once(
    two_accounts: BankUnitOfWork, store: InMemoryStore
) -> None:
    interfered = InterferedUnitOfWork(store, times=MAX_ATTEMPTS - 1)

    await transfers.make_transfer(
        interfered, ALICE, TransferRequest(1, 2, 300), IdempotencyKey("k")
    )

    assert interfered.interferences_left == 0
    assert await balances(two_accounts) == [700, 300]
    assert (
        await transfers.list_transfers(two_accounts, ADMIN, TransferFilter(with_total=True))
    ).total == Total(1)


async def test_stale_writes_past_the_retry_budget_end_in_a_conflict_that_changes_nothing(
    two_accounts: BankUnitOfWork, store: InMemoryStore
) -> None:
    interfered = InterferedUnitOfWork(store, times=MAX_ATTEMPTS)

    with pytest.raises(Conflict, match=f"gave up after {MAX_ATTEMPTS} attempts"):
        await transfers.make_transfer(
            interfered, ALICE, TransferRequest(1, 2, 300), IdempotencyKey("k")
        )
    assert await balances(two_accounts) == [1000, 0]
    assert (
        await transfers.list_transfers(two_accounts, ADMIN, TransferFilter(with_total=True))
    ).total == Total(0)
