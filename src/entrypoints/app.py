"""The FastAPI application factory; the lifespan starts and stops the database."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from entrypoints.api import accounts, operations, posts, todos, transfers, users
from entrypoints.container import Container
from entrypoints.metrics import Metrics
from entrypoints.problems import install_problem_handlers

logger = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    database = app.state.store
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
    app.state.store = container.database()
    app.state.metrics = Metrics(container.retry_policy())
    app.state.metrics.install(app)
    for resource in (operations, todos, users, posts, accounts, transfers):
        app.include_router(resource.router)
    install_problem_handlers(app)
    return app
