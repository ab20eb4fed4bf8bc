"""/transfers: move money from one's own account to any, once per Idempotency-Key; list an
account's transfers (only an admin lists them all)."""

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.accounts import MAX_CENTS
from domain.errors import InvalidValue
from domain.fields import MAX_ID
from domain.transfers import (
    KEY_MAX_LENGTH,
    IdempotencyKey,
    Transfer,
    TransferFilter,
    TransferRequest,
)
from entrypoints.api.paging import ListQuery, PageInfo
from entrypoints.dependencies import PrincipalDep, unit_of_work
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import transfers as use_cases
from service.contexts import BankUnitOfWork

UnitOfWorkDep = Annotated[BankUnitOfWork, Depends(unit_of_work(BankUnitOfWork))]
router = APIRouter(
    prefix="/transfers",
    tags=["transfers"],
    responses={**problem_responses(404, 409), **PROTECTED_OPERATION},
)

VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


async def idempotency_key(
    request: Request,
    key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            description=(
                "Sending the same key again returns the first result and moves no money. "
                f"One header, 1 to {KEY_MAX_LENGTH} visible ASCII characters."
            ),
        ),
    ],
) -> IdempotencyKey:
    """The request's one Idempotency-Key: documented as a plain string, so that any client
    can send it; two such headers are refused here, since FastAPI would keep only one."""
    return _one_key(request.headers.getlist("idempotency-key"))


IdempotencyKeyDep = Annotated[IdempotencyKey, Depends(idempotency_key)]


def _one_key(values: list[str]) -> IdempotencyKey:
    if len(values) != 1:
        raise InvalidValue("Idempotency-Key", f"send exactly one such header, not {len(values)}")
    if not VISIBLE_ASCII.fullmatch(values[0]):
        raise InvalidValue("Idempotency-Key", "must be visible ASCII: no spaces or controls")
    return IdempotencyKey(values[0])


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
    key: IdempotencyKeyDep,
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
    outcome = await use_cases.make_transfer(uow, principal, request, key)
    response.headers["Location"] = f"/transfers?account={request.from_account}"
    response.headers["Idempotent-Replayed"] = str(outcome.replayed).lower()
    return TransferOut.of(outcome.transfer)


@router.get("")
async def list_transfers(
    query: Annotated[TransferQuery, Query()], uow: UnitOfWorkDep, principal: PrincipalDep
) -> TransferPage:
    """Transfers from or to one of the caller's accounts, oldest first; 422 without `account`,
    404 for someone else's. An admin may name any account, or none to list all."""
    query_object = TransferFilter(query.account, **query.window())
    page = await use_cases.list_transfers(uow, principal, query_object)
    return TransferPage(items=[TransferOut.of(t) for t in page.items], **PageInfo.of(page))
