"""`python -m tests.ledger.serve`: the app exactly as `python -m entrypoints` serves it, with
the ledger as a bounded context of its own beside the project's: a database of its own (on
dqlite, `<prefix>ledger`), its tables created at start-up, and its outbox's relay."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dependency_injector import providers
from fastapi import FastAPI

from entrypoints.__main__ import main
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.problems import EVERY_OPERATION
from tests.ledger.api import router
from tests.ledger.storage import LEDGER


def create_app_with_ledger(container: Container) -> FastAPI:
    container.contexts.override(providers.Object((*container.contexts(), LEDGER)))
    app = create_app(container)
    app.include_router(router, responses=EVERY_OPERATION)
    settings = container.settings()
    if settings.storage != "dqlite":
        return app  # the in-memory store keeps a table per registration already
    from tests.ledger.database import serve_the_ledger_database  # only on dqlite

    ledger = serve_the_ledger_database(app.state.store)
    if settings.migrate_on_startup:
        return app  # the store creates its tables when it migrates each context's database
    start_and_stop_the_store = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with start_and_stop_the_store(app):
            await ledger.migrate_to_head()  # the operators' migrations do not know the ledger
            yield

    app.router.lifespan_context = lifespan
    return app


if __name__ == "__main__":
    main(app_factory=create_app_with_ledger)
