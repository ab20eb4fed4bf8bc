"""`python -m tests.ledger.serve`: the app exactly as `python -m entrypoints` serves it, with
the ledger registered beside the project's aggregates and its tables created at start-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dependency_injector import providers
from fastapi import FastAPI

from adapters.repositories import REPOSITORIES
from entrypoints.__main__ import main
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.problems import EVERY_OPERATION
from tests.ledger.api import router
from tests.ledger.storage import REGISTRATIONS, create_tables


def create_app_with_ledger(container: Container) -> FastAPI:
    container.registrations.override(providers.Object((*REPOSITORIES, *REGISTRATIONS)))
    app = create_app(container)
    app.include_router(router, responses=EVERY_OPERATION)
    start_and_stop_the_store = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with start_and_stop_the_store(app):
            await _create_tables(app)
            yield

    app.router.lifespan_context = lifespan
    return app


async def _create_tables(app: FastAPI) -> None:
    if app.state.container.settings().storage != "dqlite":
        return  # the in-memory store keeps a table per registration already
    from adapters.dqlite.store import DqliteStore  # only on dqlite, as the container does

    store = app.state.store
    assert isinstance(store, DqliteStore)
    async with store.engine.begin() as connection:
        await create_tables(connection)


if __name__ == "__main__":
    main(app_factory=create_app_with_ledger)
