"""Routes that belong to the tests, so the platform's HTTP behaviour (metrics, store failures)
is tested without depending on any aggregate of the template's: their writes are in PROBE, a
context of the tests' own with no aggregate."""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from adapters.contexts import Context
from domain.errors import Conflict
from domain.events import DomainEvent
from entrypoints.dependencies import unit_of_work
from entrypoints.idempotency import OnceDep
from service.retry import retried
from service.unit_of_work import AbstractUnitOfWork


class ProbeUnitOfWork(AbstractUnitOfWork):
    """The probe's context: a database with an outbox and no repository."""


PROBE = Context("probe", ProbeUnitOfWork, ())

# The dependency itself, so that a test can override it (app.dependency_overrides).
new_unit_of_work = unit_of_work(ProbeUnitOfWork)
UnitOfWorkDep = Annotated[ProbeUnitOfWork, Depends(new_unit_of_work)]

router = APIRouter(prefix="/probe")
received: list[str] = []  # every body /probe/echo accepted


class Echo(BaseModel):
    text: str


@retried(idempotent=False)
async def commit_once(uow: ProbeUnitOfWork) -> None:
    async with uow:
        await uow.commit()


@router.post("", status_code=status.HTTP_201_CREATED)
async def write(uow: UnitOfWorkDep) -> None:
    """A write that is not idempotent: one transaction that commits."""
    await commit_once(uow)


@dataclass(frozen=True, slots=True)
class Counted(DomainEvent):
    n: int

    @property
    def stream(self) -> str:
        return "counted"


@dataclass
class Counter:
    events: list[DomainEvent] = field(default_factory=list)


class Count(BaseModel):
    n: int
    counted_at: float = 0.0  # when it was counted: a replayed answer keeps the first one's


entered: list[int] = []  # every n whose count entered its unit of work


@retried(idempotent=False)
async def count(uow: ProbeUnitOfWork, n: int) -> Count:
    """Record `n` in the outbox; the answer says when."""
    async with uow:
        entered.append(n)
        await asyncio.sleep(0.01)  # long enough for concurrent requests to meet
        uow.collect(Counter([Counted(n)]))
        counted = Count(n=n, counted_at=time.time())
        await uow.commit(counted)
    return counted


@router.post("/counts", status_code=status.HTTP_201_CREATED)
async def post_count(body: Count, uow: UnitOfWorkDep, once: OnceDep) -> Count:
    """A create that takes an Idempotency-Key, as every unsafe operation does."""
    return await count(once(uow, lambda answer: answer), body.n)


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
