"""Transfer use cases: move money once per idempotency key, retrying stale writes. Money
leaves only the principal's own accounts (for anyone's); transfers are listed per account, to
its owner, or all of them to an admin."""

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.errors import Conflict, StaleWrite
from domain.paging import Page
from domain.principals import Principal
from domain.transfers import (
    IdempotencyKey,
    IdempotencyKeyReused,
    Transfer,
    TransferFilter,
    TransferRequest,
)
from service.accounts import existing_account, readable_account, spendable_account
from service.contexts import BankUnitOfWork
from service.retry import retried

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    transfer: Transfer
    replayed: bool  # True when the key was seen before and nothing was applied now


@retried(idempotent=True)  # a retried key finds the first transfer instead of moving money
async def make_transfer(
    uow: BankUnitOfWork, principal: Principal, request: TransferRequest, key: IdempotencyKey
) -> TransferOutcome:
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
) -> TransferOutcome:
    async with uow:
        # The source's owner before the key: a replay returns only a transfer out of an account
        # the principal may spend from, so bob never gets alice's transfer back.
        source = await spendable_account(uow, principal, request.from_account)
        earlier = await uow.transfers.get_by_key(key)
        if earlier is not None:
            if earlier.request != request:
                raise IdempotencyKeyReused(key)
            return TransferOutcome(earlier, replayed=True)
        target = await existing_account(uow, request.to_account)
        source.withdraw(request.amount_cents)
        target.deposit(request.amount_cents)
        await uow.accounts.update(source)
        await uow.accounts.update(target)
        transfer = Transfer(await uow.transfers.next_id(), request, key, datetime.now(UTC))
        await uow.transfers.add(transfer)
        await uow.commit()
    return TransferOutcome(transfer, replayed=False)


@retried(idempotent=True)
async def list_transfers(
    uow: BankUnitOfWork, principal: Principal, query: TransferFilter
) -> Page[Transfer]:
    """Transfers from or to an account the principal may read; every transfer for an admin
    who names no account."""
    query.check_asked_by(principal)
    async with uow.read_only():
        if query.account_id is not None:
            await readable_account(uow, principal, query.account_id)
        return await uow.transfers.find(query)
