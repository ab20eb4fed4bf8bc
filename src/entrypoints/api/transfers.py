"""/transfers: move money from one's own account to any, once per Idempotency-Key; list an
account's transfers (only an admin lists them all)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.accounts import MAX_CENTS
from domain.fields import MAX_ID
from domain.transfers import Transfer, TransferFilter, TransferRequest
from entrypoints.api.paging import ListQuery, PageInfo
from entrypoints.dependencies import PrincipalDep, unit_of_work
from entrypoints.idempotency import RequiredOnceDep
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import transfers as use_cases
from service.contexts import BankUnitOfWork

UnitOfWorkDep = Annotated[BankUnitOfWork, Depends(unit_of_work(BankUnitOfWork))]
router = APIRouter(
    prefix="/transfers",
    tags=["transfers"],
    responses={**problem_responses(404, 409), **PROTECTED_OPERATION},
)

AccountId = Annotated[int, Field(ge=1, le=MAX_ID)]


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    from_account: AccountId
    to_account: AccountId
    amount_cents: int = Field(ge=1, le=MAX_CENTS)


class TransferOut(BaseModel):
    id: int
    from_account: int
    to_account: int
    amount_cents: int
    idempotency_key: str
    created_at: datetime

    @classmethod
    def of(cls, transfer: Transfer) -> "TransferOut":
        return cls(
            id=transfer.id,
            from_account=transfer.request.from_account,
            to_account=transfer.request.to_account,
            amount_cents=transfer.request.amount_cents,
            idempotency_key=transfer.idempotency_key.text,
            created_at=transfer.created_at,
        )


class TransferPage(PageInfo):
    items: list[TransferOut]


class TransferQuery(ListQuery):
    account: AccountId | None = Field(
        None, description="One of your accounts. Required, except for an admin listing all."
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def make_transfer(
    body: TransferIn,
    once: RequiredOnceDep,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    response: Response,
) -> TransferOut:
    """Debit one of the caller's accounts and credit any other, atomically.

    404 if the source is someone else's account (403 for an admin) or either does not exist;
    409 on insufficient funds; 422 for the same account twice, a non-positive amount, or a key
    already used for a different transfer.
    """
    request = TransferRequest(body.from_account, body.to_account, body.amount_cents)
    uow = once(uow, TransferOut.of, _location)
    transfer = await use_cases.make_transfer(uow, principal, request, once.key)
    response.headers["Location"] = _location(transfer)
    return TransferOut.of(transfer)


def _location(transfer: Transfer) -> str:
    return f"/transfers?account={transfer.request.from_account}"


@router.get("")
async def list_transfers(
    query: Annotated[TransferQuery, Query()], uow: UnitOfWorkDep, principal: PrincipalDep
) -> TransferPage:
    """Transfers from or to one of the caller's accounts, oldest first; 422 without `account`,
    404 for someone else's. An admin may name any account, or none to list all."""
    query_object = TransferFilter(query.account, **query.window())
    page = await use_cases.list_transfers(uow, principal, query_object)
    return TransferPage(items=[TransferOut.of(t) for t in page.items], **PageInfo.of(page))
