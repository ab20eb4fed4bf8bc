"""Account use cases. An account belongs to the principal who opened it: only they see it and
spend from it; an admin sees every account and spends from none but their own."""

from domain.accounts import Account
from domain.errors import NotFound
from domain.fields import check_id
from domain.principals import Principal
from service.contexts import BankUnitOfWork
from service.retry import retried


@retried(idempotent=False)
async def open_account(
    uow: BankUnitOfWork, principal: Principal, holder: str, balance_cents: int
) -> Account:
    async with uow:
        account_id = await uow.accounts.next_id()
        account = Account.open(account_id, principal.subject, holder, balance_cents)
        await uow.accounts.add(account)
        await uow.commit(account)
    return account


@retried(idempotent=True)
async def get_account(uow: BankUnitOfWork, principal: Principal, account_id: int) -> Account:
    """The account; NotFound if it is someone else's, as if it did not exist.

    Linearizable: a balance read right after a transfer made through another node must show
    it, even from a leader cut off from the others (which would answer from its own copy)."""
    async with uow.read_only(snapshot=False, consistency="linearizable"):  # one statement
        return await readable_account(uow, principal, account_id)


async def readable_account(uow: BankUnitOfWork, principal: Principal, account_id: int) -> Account:
    account = await existing_account(uow, account_id)
    principal.check_may_read(account.owner, "account", account_id)
    return account


async def spendable_account(uow: BankUnitOfWork, principal: Principal, account_id: int) -> Account:
    """The principal's own account: NotFound for someone else's, Forbidden for an admin."""
    account = await existing_account(uow, account_id)
    principal.check_may_change(account.owner, "account", account_id)
    return account


async def existing_account(uow: BankUnitOfWork, account_id: int) -> Account:
    """The account, whoever owns it; callers decide who may see it."""
    account = await uow.accounts.get(check_id("account_id", account_id))
    if account is None:
        raise NotFound("account", account_id)
    return account
