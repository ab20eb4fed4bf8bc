"""Run in a project copy after `make aggregate` (`python -m tests.integration.client_probe
<plural> <singular> <json body>`): sign up, then create and read one of the new aggregate
through the regenerated client only, against the in-memory app, and print what came back."""

import asyncio
import importlib
import json
import sys

import httpx
from api_client import AuthenticatedClient, Client
from api_client.api.auth import auth_register, auth_token
from api_client.models import RegistrationIn, TokenForm, TokenOut
from dependency_injector import providers

from entrypoints.app import create_app
from entrypoints.container import Container
from tests.signing_in import PASSWORD
from tests.unit.conftest import memory_settings


async def probe(plural: str, singular: str, body: dict[str, object]) -> dict[str, object]:
    container = Container()
    container.settings.override(providers.Object(memory_settings()))
    app = create_app(container)
    api = f"api_client.api.{plural}"
    create = importlib.import_module(f"{api}.{plural}_create_{singular}")
    get = importlib.import_module(f"{api}.{plural}_get_{singular}")
    model = getattr(importlib.import_module("api_client.models"), f"{_class(singular)}In")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        anonymous = Client(base_url="http://app").set_async_httpx_client(
            httpx.AsyncClient(transport=transport, base_url="http://app")
        )
        person = RegistrationIn(email="probe@example.org", password=PASSWORD)
        await auth_register.asyncio(client=anonymous, body=person)
        form = TokenForm(username="probe@example.org", password=PASSWORD)
        tokens = await auth_token.asyncio(client=anonymous, body=form)
        assert isinstance(tokens, TokenOut), tokens
        client = AuthenticatedClient(base_url="http://app", token=tokens.access_token)
        client.set_async_httpx_client(
            httpx.AsyncClient(
                transport=transport,
                base_url="http://app",
                headers={"Authorization": f"Bearer {tokens.access_token}"},
            )
        )
        created = await create.asyncio_detailed(client=client, body=model.from_dict(body))
        assert created.status_code == 201, created.content
        read = await get.asyncio(created.parsed.id, client=client)
        return {"created": created.parsed.to_dict(), "read": read.to_dict()}


def _class(singular: str) -> str:
    return "".join(part.capitalize() for part in singular.split("_"))


if __name__ == "__main__":
    plural, singular, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    print(json.dumps(asyncio.run(probe(plural, singular, body))))
