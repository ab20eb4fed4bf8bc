"""Transfer use cases: move money, retrying stale writes. Money leaves only the principal's own
accounts (for anyone's); transfers are listed per account, to its owner, or all of them to an
admin. The API sends every transfer with an idempotency key, so that it moves money once."""

from datetime import UTC, datetime

from domain.errors import Conflict, StaleWrite
from domain.idempotency import IdempotencyKey
from domain.paging import Page
from domain.principals import Principal
from domain.transfers import Transfer, TransferFilter, TransferRequest
from service.accounts import existing_account, readable_account, spendable_account
from service.contexts import BankUnitOfWork
from service.retry import retried

MAX_ATTEMPTS = 5


@retried(idempotent=False)  # unless its unit of work stores its answer under the key
async def make_transfer(
    uow: BankUnitOfWork, principal: Principal, request: TransferRequest, key: IdempotencyKey
) -> Transfer:
    """Debit the principal's account and credit another in one unit of work; on a stale write,
    start again (bounded)."""
    for _ in range(MAX_ATTEMPTS):
        try:
            return await _transfer_once(uow, principal, request, key)
        except StaleWrite:
            continue
    raise Conflict(f"the accounts kept changing; gave up after {MAX_ATTEMPTS} attempts")


async def _transfer_once(
    uow: BankUnitOfWork, principal: Principal, request: TransferRequest, key: IdempotencyKey
) -> Transfer:
    async with uow:
        source = await spendable_account(uow, principal, request.from_account)
        target = await existing_account(uow, request.to_account)
        source.withdraw(request.amount_cents)
        target.deposit(request.amount_cents)
        await uow.accounts.update(source)
        await uow.accounts.update(target)
        transfer = Transfer(await uow.transfers.next_id(), request, key, datetime.now(UTC))
        await uow.transfers.add(transfer)
        await uow.commit(transfer)
    return transfer


@retried(idempotent=True)
async def list_transfers(
    uow: BankUnitOfWork, principal: Principal, query: TransferFilter
) -> Page[Transfer]:
    """Transfers from or to an account the principal may read; every transfer for an admin
    who names no account."""
    query.check_asked_by(principal)
    async with uow.read_only(consistency="linearizable"):  # a statement: it must be complete
        if query.account_id is not None:
            await readable_account(uow, principal, query.account_id)
        return await uow.transfers.find(query)
