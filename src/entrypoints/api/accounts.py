"""/accounts: open an account, read its balance. An account belongs to the principal who opened
it: others get a 404 for it; an admin reads any."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.accounts import HOLDER_MAX_LENGTH, MAX_CENTS, Account
from entrypoints.api.paths import IdPath
from entrypoints.dependencies import PrincipalDep, unit_of_work
from entrypoints.idempotency import OnceDep
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import accounts as use_cases
from service.contexts import BankUnitOfWork

UnitOfWorkDep = Annotated[BankUnitOfWork, Depends(unit_of_work(BankUnitOfWork))]
router = APIRouter(
    prefix="/accounts",
    tags=["accounts"],
    responses={**problem_responses(404), **PROTECTED_OPERATION},
)


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    holder: str = Field(
        min_length=1, max_length=HOLDER_MAX_LENGTH, description="The name the account is held in."
    )
    balance_cents: int = Field(0, ge=0, le=MAX_CENTS, description="The opening balance.")


class AccountOut(BaseModel):
    id: int
    owner: str = Field(description="The subject of the principal who opened the account.")
    holder: str
    balance_cents: int
    version: int

    @classmethod
    def of(cls, account: Account) -> "AccountOut":
        return cls(
            id=account.id,
            owner=account.owner,
            holder=account.holder.text,
            balance_cents=account.balance_cents,
            version=account.version,
        )


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_account(
    body: AccountIn, uow: UnitOfWorkDep, principal: PrincipalDep, once: OnceDep, response: Response
) -> AccountOut:
    """Open an account owned by the caller."""
    uow = once(uow, AccountOut.of, _location)
    account = await use_cases.open_account(uow, principal, body.holder, body.balance_cents)
    response.headers["Location"] = _location(account)
    return AccountOut.of(account)


def _location(account: Account) -> str:
    return f"/accounts/{account.id}"


@router.get("/{account_id}")
async def get_account(
    account_id: IdPath, uow: UnitOfWorkDep, principal: PrincipalDep
) -> AccountOut:
    """One of the caller's accounts; 404 for someone else's (an admin reads any)."""
    return AccountOut.of(await use_cases.get_account(uow, principal, account_id))
