from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from adapters.memory.store import InMemoryStore
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from service import identity
from service.contexts import IdentityUnitOfWork
from tests.signing_in import signed_up
from tests.unit import probe_routes


def memory_settings(**changes: Any) -> Settings:
    """The in-memory app's settings, with Argon2id at its cheapest: tests sign in often."""
    return Settings(
        storage="memory",
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
        **changes,
    )


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def app() -> FastAPI:
    """The in-memory app, with the probe's routes and their context beside the project's."""
    container = Container()
    container.settings.override(providers.Object(memory_settings()))
    container.contexts.override(providers.Object((*container.contexts(), probe_routes.PROBE)))
    app = create_app(container)
    app.include_router(probe_routes.router)
    return app


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running app that has not signed in."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def _client_of(app: FastAPI, email: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        client.headers.update(await signed_up(client, email))
        yield client


@pytest.fixture
async def client(app: FastAPI, anonymous: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as alice@example.org."""
    async with _client_of(app, "alice@example.org") as client:
        yield client


@pytest.fixture
async def bob(app: FastAPI, anonymous: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as bob@example.org, of the same app as `client`."""
    async with _client_of(app, "bob@example.org") as client:
        yield client


@pytest.fixture
async def admin(app: FastAPI, anonymous: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as root@example.org, who holds the admin role (as the CLI grants)."""
    await signed_up(anonymous, "root@example.org")
    uow = app.state.store.unit_of_work(IdentityUnitOfWork)
    await identity.grant_role(uow, "root@example.org", "admin")
    async with _client_of(app, "root@example.org") as client:
        yield client
