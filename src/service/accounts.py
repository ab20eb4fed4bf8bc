"""Account use cases."""

from domain.accounts import Account
from domain.errors import NotFound
from domain.fields import check_id
from service.contexts import BankUnitOfWork
from service.retry import retried


@retried(idempotent=False)
async def open_account(uow: BankUnitOfWork, owner: str, balance_cents: int) -> Account:
    async with uow:
        account = Account.open(await uow.accounts.next_id(), owner, balance_cents)
        await uow.accounts.add(account)
        await uow.commit()
    return account


@retried(idempotent=True)
async def get_account(uow: BankUnitOfWork, account_id: int) -> Account:
    async with uow.read_only():
        return await existing_account(uow, account_id)


async def existing_account(uow: BankUnitOfWork, account_id: int) -> Account:
    account = await uow.accounts.get(check_id("account_id", account_id))
    if account is None:
        raise NotFound("account", account_id)
    return account
