"""/accounts: open an account, read its balance."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.accounts import MAX_CENTS, OWNER_MAX_LENGTH, Account
from entrypoints.api.paths import IdPath
from entrypoints.dependencies import unit_of_work
from entrypoints.problems import problem_responses
from service import accounts as use_cases
from service.contexts import BankUnitOfWork

UnitOfWorkDep = Annotated[BankUnitOfWork, Depends(unit_of_work(BankUnitOfWork))]
router = APIRouter(prefix="/accounts", tags=["accounts"], responses=problem_responses(404))


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    owner: str = Field(min_length=1, max_length=OWNER_MAX_LENGTH)
    balance_cents: int = Field(0, ge=0, le=MAX_CENTS, description="The opening balance.")


class AccountOut(BaseModel):
    id: int
    owner: str
    balance_cents: int
    version: int

    @classmethod
    def of(cls, account: Account) -> "AccountOut":
        return cls(
            id=account.id,
            owner=account.owner.text,
            balance_cents=account.balance_cents,
            version=account.version,
        )


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_account(body: AccountIn, uow: UnitOfWorkDep, response: Response) -> AccountOut:
    account = await use_cases.open_account(uow, body.owner, body.balance_cents)
    response.headers["Location"] = f"/accounts/{account.id}"
    return AccountOut.of(account)


@router.get("/{account_id}")
async def get_account(account_id: IdPath, uow: UnitOfWorkDep) -> AccountOut:
    return AccountOut.of(await use_cases.get_account(uow, account_id))
