"""Routes that belong to the tests, so the platform's HTTP behaviour (metrics, store failures)
is tested without depending on any aggregate of the template's."""

from fastapi import APIRouter, status
from pydantic import BaseModel

from domain.errors import Conflict
from entrypoints.dependencies import UnitOfWorkDep
from service.retry import retried
from service.unit_of_work import AbstractUnitOfWork

router = APIRouter(prefix="/probe")
received: list[str] = []  # every body /probe/echo accepted


class Echo(BaseModel):
    text: str


@retried(idempotent=False)
async def commit_once(uow: AbstractUnitOfWork) -> None:
    async with uow:
        await uow.commit()


@router.post("", status_code=status.HTTP_201_CREATED)
async def write(uow: UnitOfWorkDep) -> None:
    """A write that is not idempotent: one transaction that commits."""
    await commit_once(uow)


@router.get("/{name}")
async def read(name: str) -> dict[str, str]:
    """200, or 409 for the name 'taken'."""
    if name == "taken":
        raise Conflict("taken")
    return {"name": name}


@router.post("/echo")
async def echo(body: Echo) -> Echo:
    """Reads a JSON body, remembers it in received, and returns it."""
    received.append(body.text)
    return body
