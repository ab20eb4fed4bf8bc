"""FastAPI dependencies shared by the routers, as typed aliases.

Async, though they await nothing: FastAPI runs a plain `def` dependency on a worker thread,
a hop per request that cost more than the dependency itself.
"""

from typing import Annotated

from fastapi import Depends, Request

from service.operations import Store
from service.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory


async def get_unit_of_work(request: Request) -> AbstractUnitOfWork:
    factory: UnitOfWorkFactory = request.app.state.unit_of_work_factory
    return factory()


UnitOfWorkDep = Annotated[AbstractUnitOfWork, Depends(get_unit_of_work)]


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]
