from collections.abc import AsyncIterator

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from adapters.memory.store import InMemoryStore
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.unit import probe_routes


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def app() -> FastAPI:
    """The in-memory app, with the probe's routes and their context beside the project's."""
    container = Container()
    container.settings.override(providers.Object(Settings(storage="memory")))
    container.contexts.override(providers.Object((*container.contexts(), probe_routes.PROBE)))
    app = create_app(container)
    app.include_router(probe_routes.router)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
