"""What signing in needs from the settings: keys in production, a role for /metrics if asked."""

from collections.abc import AsyncIterator

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from pydantic import ValidationError

from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from service import identity
from service.contexts import IdentityUnitOfWork
from tests.signing_in import signed_up
from tests.unit.conftest import memory_settings


def test_production_refuses_to_start_without_a_signing_key() -> None:
    with pytest.raises(ValidationError, match="APP_AUTH_SIGNING_KEY"):
        Settings(environment="production")


def test_oidc_mode_needs_its_issuer_audience_and_keys() -> None:
    with pytest.raises(ValidationError, match="APP_OIDC_JWKS_URL"):
        Settings(auth_mode="oidc", oidc_issuer="https://id.example.org")


@pytest.fixture
async def guarded_metrics() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    container = Container()
    container.settings.override(providers.Object(memory_settings(metrics_role="admin")))
    app = create_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


async def test_metrics_with_a_role_set_need_a_token_carrying_it(
    guarded_metrics: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = guarded_metrics
    alice = await signed_up(client, "alice@example.org")
    await signed_up(client, "root@example.org")
    await identity.grant_role(
        app.state.store.unit_of_work(IdentityUnitOfWork), "root@example.org", "admin"
    )
    root = await signed_up(client, "root@example.org")

    anonymous = await client.get("/metrics")
    without_the_role = await client.get("/metrics", headers=alice)
    with_it = await client.get("/metrics", headers=root)

    assert anonymous.status_code == 401
    assert without_the_role.status_code == 403
    assert with_it.status_code == 200
    assert "http_requests" in with_it.text


async def test_metrics_are_open_when_no_role_is_set(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/metrics")).status_code == 200
