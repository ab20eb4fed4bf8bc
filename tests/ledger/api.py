"""/ledger: open accounts (once per Idempotency-Key, when sent with one, through the platform's
stored answers), move money once per Idempotency-Key, read it all back."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.dependencies import unit_of_work
from entrypoints.idempotency import NO_KEY, KeyHeader, Once, keyed_request
from entrypoints.problems import problem_responses
from service.unit_of_work import Consistency
from tests.ledger import model
from tests.ledger.model import LedgerUnitOfWork

UnitOfWorkDep = Annotated[LedgerUnitOfWork, Depends(unit_of_work(LedgerUnitOfWork))]

router = APIRouter(
    prefix="/ledger", tags=["ledger (tests only)"], responses=problem_responses(404, 409)
)

Cents = Annotated[int, Field(ge=0, le=2**62)]
AccountId = Annotated[int, Field(ge=1, le=2**62)]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    owner: str = Field(min_length=1, max_length=100)
    balance_cents: Cents


class AccountOut(BaseModel):
    id: int
    owner: str
    balance_cents: int
    version: int


class AccountPage(BaseModel):
    items: list[AccountOut]
    total: int


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    from_account: AccountId
    to_account: AccountId
    amount_cents: Annotated[int, Field(ge=1, le=2**62)]


class TransferOut(BaseModel):
    id: int
    from_account: int
    to_account: int
    amount_cents: int
    idempotency_key: str
    created_at: datetime


class TransferPage(BaseModel):
    items: list[TransferOut]
    total: int


async def answer_once(
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = NO_KEY,
) -> AsyncIterator[Once]:
    """The ledger has no principals: its keys are all in one scope."""
    async with keyed_request(request, response, "ledger") as once:
        yield once


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
async def open_account(
    body: AccountIn, uow: UnitOfWorkDep, once: Annotated[Once, Depends(answer_once)]
) -> AccountOut:
    uow = once(uow, _account_out)
    return _account_out(await model.open_account(uow, body.owner, body.balance_cents))


def _account_out(account: model.Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


@router.get("/accounts")
async def list_accounts(
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> AccountPage:
    """Every account, oldest first."""
    items, total = await model.list_accounts(uow, limit, offset)
    return AccountPage(
        items=[AccountOut.model_validate(a, from_attributes=True) for a in items], total=total
    )


@router.get("/accounts/{id}")
async def get_account(
    id: Annotated[int, Path(ge=1, le=2**62)],
    uow: UnitOfWorkDep,
    consistency: Consistency = "leader",
) -> AccountOut:
    """`consistency`, for the tests that compare the levels: the read is the same."""
    account = await model.get_account(uow, id, consistency)
    return AccountOut.model_validate(account, from_attributes=True)


@router.post("/transfers", status_code=status.HTTP_201_CREATED)
async def make_transfer(
    body: TransferIn,
    key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=100)],
    uow: UnitOfWorkDep,
    response: Response,
) -> TransferOut:
    """409 on insufficient funds; 422 for a key already used for another transfer."""
    transfer, replayed = await model.make_transfer(
        uow, body.from_account, body.to_account, body.amount_cents, key
    )
    response.headers["Idempotent-Replayed"] = str(replayed).lower()
    return TransferOut.model_validate(transfer, from_attributes=True)


@router.get("/transfers")
async def list_transfers(
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> TransferPage:
    """Every transfer, oldest first."""
    items, total = await model.list_transfers(uow, limit, offset)
    return TransferPage(
        items=[TransferOut.model_validate(t, from_attributes=True) for t in items], total=total
    )
