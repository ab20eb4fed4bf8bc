"""Transfer use cases: move money once per idempotency key, retrying stale writes."""

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.errors import Conflict, StaleWrite
from domain.paging import Page
from domain.transfers import (
    IdempotencyKey,
    IdempotencyKeyReused,
    Transfer,
    TransferFilter,
    TransferRequest,
)
from service.accounts import existing_account
from service.contexts import BankUnitOfWork
from service.retry import retried

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    transfer: Transfer
    replayed: bool  # True when the key was seen before and nothing was applied now


@retried(idempotent=True)  # a retried key finds the first transfer instead of moving money
async def make_transfer(
    uow: BankUnitOfWork, request: TransferRequest, key: IdempotencyKey
) -> TransferOutcome:
    """Debit and credit in one unit of work; on a stale write, start again (bounded)."""
    for _ in range(MAX_ATTEMPTS):
        try:
            return await _transfer_once(uow, request, key)
        except StaleWrite:
            continue
    raise Conflict(f"the accounts kept changing; gave up after {MAX_ATTEMPTS} attempts")


async def _transfer_once(
    uow: BankUnitOfWork, request: TransferRequest, key: IdempotencyKey
) -> TransferOutcome:
    async with uow:
        earlier = await uow.transfers.get_by_key(key)
        if earlier is not None:
            if earlier.request != request:
                raise IdempotencyKeyReused(key)
            return TransferOutcome(earlier, replayed=True)
        source = await existing_account(uow, request.from_account)
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
async def list_transfers(uow: BankUnitOfWork, query: TransferFilter) -> Page[Transfer]:
    async with uow.read_only():
        if query.account_id is not None:
            await existing_account(uow, query.account_id)
        return Page(tuple(await uow.transfers.find(query)), await uow.transfers.count(query))
