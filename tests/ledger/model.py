"""The ledger's entities, repositories' interface and use cases: accounts, and transfers
applied once per idempotency key."""

import abc
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from domain.errors import Conflict, InvalidValue, NotFound
from domain.fields import check_text
from service.retry import retried
from service.unit_of_work import AbstractUnitOfWork, Consistency

ACCOUNTS, TRANSFERS = "ledger_accounts", "ledger_transfers"  # LedgerUnitOfWork's attributes


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    owner: str
    balance_cents: int
    version: int = 0  # how many times the balance changed


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    from_account: int
    to_account: int
    amount_cents: int
    idempotency_key: str
    created_at: datetime

    def same_request(self, other: "Transfer") -> bool:
        mine = (self.from_account, self.to_account, self.amount_cents)
        return mine == (other.from_account, other.to_account, other.amount_cents)


class AbstractAccounts(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int: ...

    @abc.abstractmethod
    async def add(self, account: Account) -> None: ...

    @abc.abstractmethod
    async def get(self, id: int) -> Account | None: ...

    @abc.abstractmethod
    async def update(self, account: Account) -> None: ...

    @abc.abstractmethod
    async def page(self, limit: int, offset: int) -> tuple[list[Account], int]:
        """Accounts in id order, and how many there are."""


class AbstractTransfers(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int: ...

    @abc.abstractmethod
    async def add(self, transfer: Transfer) -> None: ...

    @abc.abstractmethod
    async def get_by_key(self, key: str) -> Transfer | None: ...

    @abc.abstractmethod
    async def page(self, limit: int, offset: int) -> tuple[list[Transfer], int]:
        """Transfers in id order, and how many there are."""


class LedgerUnitOfWork(AbstractUnitOfWork):
    """The ledger's bounded context (tests/ledger/storage.py registers it as LEDGER): its
    accounts and transfers, in a database of their own."""

    ledger_accounts: AbstractAccounts
    ledger_transfers: AbstractTransfers


def accounts_of(uow: AbstractUnitOfWork) -> AbstractAccounts:
    """The accounts of a unit of work built with the ledger's registrations by hand (the SQL
    tests' SqlAlchemyUnitOfWork): a LedgerUnitOfWork has them as `uow.ledger_accounts`."""
    repository = getattr(uow, ACCOUNTS)
    assert isinstance(repository, AbstractAccounts), "the ledger is not registered"
    return repository


def transfers_of(uow: AbstractUnitOfWork) -> AbstractTransfers:
    """As accounts_of, for the transfers."""
    repository = getattr(uow, TRANSFERS)
    assert isinstance(repository, AbstractTransfers), "the ledger is not registered"
    return repository


@retried(idempotent=False)
async def open_account(uow: LedgerUnitOfWork, owner: str, balance_cents: int) -> Account:
    check_text("owner", owner, min_length=1, max_length=100)  # no NUL, no lone surrogate
    async with uow:
        accounts = uow.ledger_accounts
        account = Account(await accounts.next_id(), owner, balance_cents)
        await accounts.add(account)
        await uow.commit(account)
    return account


@retried(idempotent=True)
async def get_account(
    uow: LedgerUnitOfWork, id: int, consistency: Consistency = "leader"
) -> Account:
    async with uow.read_only(consistency=consistency):
        return await _existing(uow.ledger_accounts, id)


@retried(idempotent=True)  # a key seen before is answered with its first transfer
async def make_transfer(
    uow: LedgerUnitOfWork, source: int, target: int, amount_cents: int, key: str
) -> tuple[Transfer, bool]:
    """The transfer stored under `key`, and whether it was stored before this call."""
    if source == target:
        raise InvalidValue("to_account", "must differ from from_account")
    async with uow:
        accounts, transfers = uow.ledger_accounts, uow.ledger_transfers
        asked = Transfer(0, source, target, amount_cents, key, datetime.now(UTC))
        earlier = await transfers.get_by_key(key)
        if earlier is not None:
            if not earlier.same_request(asked):
                raise InvalidValue("Idempotency-Key", "already used for another transfer")
            return earlier, True
        debited, credited = await _existing(accounts, source), await _existing(accounts, target)
        if debited.balance_cents < amount_cents:
            raise Conflict(f"account {source} holds less than {amount_cents} cents")
        await accounts.update(_moved(debited, -amount_cents))
        await accounts.update(_moved(credited, amount_cents))
        transfer = replace(asked, id=await transfers.next_id())
        await transfers.add(transfer)
        await uow.commit()
    return transfer, False


@retried(idempotent=True)
async def list_accounts(
    uow: LedgerUnitOfWork, limit: int, offset: int
) -> tuple[list[Account], int]:
    async with uow.read_only():
        return await uow.ledger_accounts.page(limit, offset)


@retried(idempotent=True)
async def list_transfers(
    uow: LedgerUnitOfWork, limit: int, offset: int
) -> tuple[list[Transfer], int]:
    async with uow.read_only():
        return await uow.ledger_transfers.page(limit, offset)


async def _existing(accounts: AbstractAccounts, id: int) -> Account:
    account = await accounts.get(id)
    if account is None:
        raise NotFound("account", id)
    return account


def _moved(account: Account, cents: int) -> Account:
    return replace(account, balance_cents=account.balance_cents + cents)
