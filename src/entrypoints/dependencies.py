"""FastAPI dependencies shared by the routers, as typed aliases.

Async, though they await nothing: FastAPI runs a plain `def` dependency on a worker thread,
a hop per request that cost more than the dependency itself.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from service.operations import Store
from service.unit_of_work import AbstractUnitOfWork


def unit_of_work[U: AbstractUnitOfWork](context: type[U]) -> Callable[[Request], Awaitable[U]]:
    """A dependency that builds a new unit of work of `context` for each request; a router
    names it once, e.g. `UnitOfWorkDep = Annotated[BillingUnitOfWork,
    Depends(unit_of_work(BillingUnitOfWork))]`."""

    async def new_unit_of_work(request: Request) -> U:
        store: Store = request.app.state.store
        return store.unit_of_work(context)

    return new_unit_of_work


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]
