"""The FastAPI application factory; the lifespan starts and stops the database."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from entrypoints.api import accounts, posts, todos, transfers, users
from entrypoints.container import Container
from entrypoints.problems import install_problem_handlers

logger = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    database = app.state.container.database()
    try:
        await database.start()
    except Exception as error:
        logger.critical("cannot start the database: %s", error)
        raise
    try:
        yield
    finally:
        await database.stop()


def create_app(container: Container | None = None) -> FastAPI:
    container = container or Container()
    app = FastAPI(title="DDD on dqlite", lifespan=_lifespan)
    app.state.container = container
    app.state.unit_of_work_factory = container.unit_of_work
    for resource in (todos, users, posts, accounts, transfers):
        app.include_router(resource.router)
    install_problem_handlers(app)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        """The process is up and serving HTTP."""
        return {"status": "ok"}

    return app
