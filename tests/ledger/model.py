"""The ledger's entities, repositories' interface and use cases: accounts, and transfers
applied once per idempotency key."""

import abc
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from domain.errors import Conflict, InvalidValue, NotFound
from service.retry import retried
from service.unit_of_work import AbstractUnitOfWork

ACCOUNTS, TRANSFERS = "ledger_accounts", "ledger_transfers"  # the units of work's attributes


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


def accounts_of(uow: AbstractUnitOfWork) -> AbstractAccounts:
    repository = getattr(uow, ACCOUNTS)
    assert isinstance(repository, AbstractAccounts), "the ledger is not registered"
    return repository


def transfers_of(uow: AbstractUnitOfWork) -> AbstractTransfers:
    repository = getattr(uow, TRANSFERS)
    assert isinstance(repository, AbstractTransfers), "the ledger is not registered"
    return repository


@retried(idempotent=False)
async def open_account(uow: AbstractUnitOfWork, owner: str, balance_cents: int) -> Account:
    async with uow:
        accounts = accounts_of(uow)
        account = Account(await accounts.next_id(), owner, balance_cents)
        await accounts.add(account)
        await uow.commit()
    return account


@retried(idempotent=True)
async def get_account(uow: AbstractUnitOfWork, id: int) -> Account:
    async with uow.read_only():
        return await _existing(accounts_of(uow), id)


@retried(idempotent=True)  # a key seen before is answered with its first transfer
async def make_transfer(
    uow: AbstractUnitOfWork, source: int, target: int, amount_cents: int, key: str
) -> tuple[Transfer, bool]:
    """The transfer stored under `key`, and whether it was stored before this call."""
    if source == target:
        raise InvalidValue("to_account", "must differ from from_account")
    async with uow:
        accounts, transfers = accounts_of(uow), transfers_of(uow)
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
    uow: AbstractUnitOfWork, limit: int, offset: int
) -> tuple[list[Account], int]:
    async with uow.read_only():
        return await accounts_of(uow).page(limit, offset)


@retried(idempotent=True)
async def list_transfers(
    uow: AbstractUnitOfWork, limit: int, offset: int
) -> tuple[list[Transfer], int]:
    async with uow.read_only():
        return await transfers_of(uow).page(limit, offset)


async def _existing(accounts: AbstractAccounts, id: int) -> Account:
    account = await accounts.get(id)
    if account is None:
        raise NotFound("account", id)
    return account


def _moved(account: Account, cents: int) -> Account:
    return replace(account, balance_cents=account.balance_cents + cents)
