"""The Account and Transfer repository contracts and the transfer use case, on every backend,
plus a differential test of transfer queries."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from adapters.dqlite.node import DqliteNode
from domain.accounts import MAX_CENTS, Account, InsufficientFunds
from domain.errors import AlreadyExists, Conflict, Forbidden, NotFound, StaleWrite
from domain.idempotency import IdempotencyKey, IdempotencyKeyReused
from domain.paging import Cursor, Page, Total
from domain.principals import Principal
from domain.transfers import Transfer, TransferFilter, TransferRequest
from service.contexts import BankUnitOfWork
from service.idempotency import AnswerReplayed
from service.transfers import make_transfer
from service.unit_of_work import UnitsOfWork
from tests.answering import answer_of, answering
from tests.contract.backends import Backend
from tests.contract.harness import (
    DIFFERENTIAL_SETTINGS,
    WRITTEN_AT,
    AggregateProbe,
    BackendMachine,
    on_memory_and_dqlite,
    run_machine,
)

# Accounts and transfers.
balances = st.integers(0, 1_000) | st.just(MAX_CENTS)
amounts = st.integers(1, 600)
idempotency_keys = st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"])
ALICE, BOB, ADMIN = Principal("1"), Principal("2"), Principal("9", frozenset({"admin"}))
principals = st.sampled_from([ALICE, BOB, ADMIN])
transfer_filters = st.builds(
    TransferFilter,
    account_id=st.none() | st.integers(1, 5),
    limit=st.integers(1, 8) | st.just(1000),
    offset=st.integers(0, 8),
    with_total=st.booleans(),
)
transfer_filters_after = st.builds(
    TransferFilter,
    account_id=st.none() | st.integers(1, 5),
    limit=st.integers(1, 8) | st.just(1000),
    after=st.builds(lambda id: Cursor((id,)), st.integers(0, 16)),
    with_total=st.booleans(),
)


async def open_accounts(units: UnitsOfWork, *balances: int, owner: str = ALICE.subject) -> None:
    async with units(BankUnitOfWork) as uow:
        for balance in balances:
            account_id = await uow.accounts.next_id()
            await uow.accounts.add(Account.open(account_id, owner, "holder", balance))
        await uow.commit()


async def balance_of(units: UnitsOfWork, account_id: int) -> tuple[int, int]:
    async with units(BankUnitOfWork).read_only() as uow:
        account = await uow.accounts.get(account_id)
    assert account is not None
    return account.balance_cents, account.version


def transfer(n: int, source: int, target: int, amount: int) -> Transfer:
    return Transfer(n, TransferRequest(source, target, amount), IdempotencyKey(f"k{n}"), WRITTEN_AT)


async def record(units: UnitsOfWork, *transfers: Transfer) -> None:
    async with units(BankUnitOfWork) as uow:
        for item in transfers:
            await uow.transfers.add(item)
        await uow.commit()


async def find_transfer_page(units: UnitsOfWork, query: TransferFilter) -> Page[Transfer]:
    async with units(BankUnitOfWork).read_only() as uow:
        return await uow.transfers.find(query)


async def add_transfer(uow: BankUnitOfWork, transfer: Transfer) -> None:
    for account_id in (transfer.request.from_account, transfer.request.to_account):
        if await uow.accounts.get(account_id) is None:
            await uow.accounts.add(
                Account.open(account_id, f"subject {account_id}", f"holder {account_id}", 0)
            )
    await uow.transfers.add(transfer)


def sample_transfer(n: int) -> Transfer:
    request = TransferRequest(from_account=1000 + n, to_account=2000 + n, amount_cents=n)
    return Transfer(n, request, IdempotencyKey(f"key-{n}"), WRITTEN_AT)


ACCOUNTS = AggregateProbe[Account, BankUnitOfWork](
    name="accounts",
    context=BankUnitOfWork,
    sample=lambda n: Account.open(n, f"subject {n}", f"holder {n}", balance_cents=n * 100),
    add=lambda uow, account: uow.accounts.add(account),
    get=lambda uow, account: uow.accounts.get(account.id),
)
TRANSFERS = AggregateProbe[Transfer, BankUnitOfWork](
    name="transfers",
    context=BankUnitOfWork,
    sample=sample_transfer,
    add=add_transfer,
    get=lambda uow, transfer: transfer_of_id(uow, transfer.id),
)


async def transfer_of_id(uow: BankUnitOfWork, transfer_id: int) -> Transfer | None:
    page = await uow.transfers.find(TransferFilter(limit=1, after=Cursor((transfer_id - 1,))))
    return next((t for t in page.items if t.id == transfer_id), None)


async def test_an_accounts_owner_and_holder_read_back_as_written(units: UnitsOfWork) -> None:
    opened = [Account.open(1, "auth0|é😀", "Ann Lee", 5), Account.open(2, "", "from before", 0)]
    async with units(BankUnitOfWork) as uow:
        for account in opened:
            await uow.accounts.add(account)
        await uow.commit()

    async with units(BankUnitOfWork).read_only() as uow:
        stored = [await uow.accounts.get(account.id) for account in opened]

    assert stored == opened
    assert [(a.owner, a.holder.text) for a in stored if a] == [
        ("auth0|é😀", "Ann Lee"),
        ("", "from before"),
    ]


async def test_an_update_stores_the_balance_and_bumps_the_version(
    units: UnitsOfWork,
) -> None:
    await open_accounts(units, 500)
    async with units(BankUnitOfWork) as uow:
        account = await uow.accounts.get(1)
        assert account is not None
        account.withdraw(200)
        await uow.accounts.update(account)
        assert account.version == 2
        await uow.commit()

    assert await balance_of(units, 1) == (300, 2)


async def test_writing_a_stale_copy_fails_and_keeps_the_newer_balance(
    units: UnitsOfWork,
) -> None:
    await open_accounts(units, 500)
    async with units(BankUnitOfWork).read_only() as uow:
        stale = await uow.accounts.get(1)
    async with units(BankUnitOfWork) as uow:
        fresh = await uow.accounts.get(1)
        assert fresh is not None
        fresh.deposit(1)
        await uow.accounts.update(fresh)
        await uow.commit()

    assert stale is not None
    stale.withdraw(500)
    with pytest.raises(StaleWrite):
        async with units(BankUnitOfWork) as uow:
            await uow.accounts.update(stale)
            await uow.commit()
    assert await balance_of(units, 1) == (501, 2)


async def test_transfers_under_one_key_may_be_stored_and_an_id_only_once(
    units: UnitsOfWork,
) -> None:
    """Keys are each principal's: two principals' transfers may carry the same one."""
    await open_accounts(units, 0, 0)
    same_key = Transfer(2, TransferRequest(2, 1, 1), IdempotencyKey("k1"), WRITTEN_AT)
    await record(units, transfer(1, 1, 2, 5), same_key)

    with pytest.raises(AlreadyExists):
        await record(units, Transfer(2, TransferRequest(1, 2, 1), IdempotencyKey("k9"), WRITTEN_AT))

    async with units(BankUnitOfWork).read_only() as uow:
        assert await transfer_of_id(uow, 1) == transfer(1, 1, 2, 5)
        assert await transfer_of_id(uow, 2) == same_key


async def test_an_accounts_transfers_are_both_ways_oldest_first_and_counted(
    units: UnitsOfWork,
) -> None:
    await open_accounts(units, 0, 0, 0)
    moves = [transfer(1, 1, 2, 5), transfer(2, 2, 3, 5), transfer(3, 3, 1, 5), transfer(4, 2, 1, 5)]
    await record(units, *moves)

    counted = TransferFilter(account_id=1, limit=1, offset=1, with_total=True)
    assert await find_transfer_page(units, counted) == Page((moves[2],), Cursor((3,)), Total(3))
    assert await find_transfer_page(units, TransferFilter(account_id=1, after=Cursor((3,)))) == (
        Page((moves[3],))
    )


class BankMachine(BackendMachine):
    """Random accounts of two owners, and transfers through the use case by them or an admin,
    checked against plain numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.balances: dict[int, int] = {}
        self.owners: dict[int, str] = {}
        # (principal, idempotency key) -> the request applied, and its answer
        self.done: dict[tuple[str, str], tuple[TransferRequest, object]] = {}

    @rule(balance=balances, owner=st.sampled_from([ALICE, BOB]))
    def open(self, balance: int, owner: Principal) -> None:
        self.run(open_accounts(self.units, balance, owner=owner.subject))
        self.balances[len(self.balances) + 1] = balance
        self.owners[len(self.owners) + 1] = owner.subject

    @precondition(lambda self: len(self.balances) >= 2)
    @rule(data=st.data(), principal=principals, amount=amounts, key=idempotency_keys)
    def move(self, data: st.DataObject, principal: Principal, amount: int, key: str) -> None:
        source, target = data.draw(
            st.lists(st.sampled_from(sorted(self.balances)), min_size=2, max_size=2, unique=True)
        )
        request = TransferRequest(source, target, amount)
        uow = answering(self.units(BankUnitOfWork), principal, key, request)
        outcome = make_transfer(uow, principal, request, IdempotencyKey(key))
        done = self.done.get((principal.subject, key))
        if done is not None and done[0] != request:
            with pytest.raises(IdempotencyKeyReused):
                self.run(outcome)
        elif done is not None:
            with pytest.raises(AnswerReplayed) as replayed:
                self.run(outcome)
            assert replayed.value.answer == done[1]
        elif self.owners[source] != principal.subject:
            with pytest.raises(Forbidden if principal.is_admin else NotFound):
                self.run(outcome)
        elif amount > self.balances[source]:
            with pytest.raises(InsufficientFunds):
                self.run(outcome)
        elif self.balances[target] + amount > MAX_CENTS:
            with pytest.raises(Conflict, match="cannot hold more"):
                self.run(outcome)
        else:
            made = self.run(outcome)
            self.done[(principal.subject, key)] = (request, answer_of(made))
            self.balances[source] -= amount
            self.balances[target] += amount

    @rule()
    def balances_match(self) -> None:
        for account_id, balance in self.balances.items():
            assert self.run(balance_of(self.units, account_id))[0] == balance

    @rule(query=transfer_filters)
    def find(self, query: TransferFilter) -> None:
        page = self.run(find_transfer_page(self.units, query))
        expected = [
            (key, request)
            for (_, key), (request, _) in self.done.items()
            if query.account_id in (None, request.from_account, request.to_account)
        ]
        window = expected[query.offset : query.offset + query.limit]
        assert [(t.idempotency_key.text, t.request) for t in page.items] == window
        more = len(expected) > query.offset + query.limit
        assert page.next == (Cursor((page.items[-1].id,)) if more else None)
        assert page.total == (Total(len(expected)) if query.with_total else None)


def test_transfers_move_money_once_per_key_and_conserve_it(backend: Backend) -> None:
    run_machine(BankMachine, backend)


@DIFFERENTIAL_SETTINGS
@given(
    moves=st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 5), amounts).filter(lambda m: m[0] != m[1]),
        max_size=15,
    ),
    queries=st.lists(transfer_filters | transfer_filters_after, min_size=1, max_size=6),
)
def test_memory_and_dqlite_find_the_same_transfers_in_the_same_order(
    dqlite_node: DqliteNode, moves: list[tuple[int, int, int]], queries: list[TransferFilter]
) -> None:
    transfers = [transfer(n, *move) for n, move in enumerate(moves, start=1)]

    async def scenario(units: UnitsOfWork) -> list[Page[Transfer]]:
        await open_accounts(units, *[0] * 5)
        await record(units, *transfers)
        return [await find_transfer_page(units, query) for query in queries]

    memory, dqlite = on_memory_and_dqlite(dqlite_node, scenario)
    assert dqlite == memory
