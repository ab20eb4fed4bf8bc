"""The generated Python client (clients/python, `make client`) against a running node: signing
up and in, and the typed Problem of a refused request. A fork keeps this test for its own
aggregates; tests/integration/test_client_examples.py does the examples' use cases."""

from collections.abc import Iterator

import pytest
from api_client import AuthenticatedClient, Client
from api_client.api.auth import auth_me, auth_register, auth_token
from api_client.api.operations import operations_health
from api_client.models import Problem, RegistrationIn, TokenForm, TokenOut

from tests.integration.process import AppProcess
from tests.signing_in import PASSWORD

pytestmark = pytest.mark.dqlite


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    process = AppProcess(tmp_path_factory.mktemp("client-app"), module="entrypoints")
    try:
        process.start()
        yield process
    finally:
        process.stop()


def signed_in(app: AppProcess, email: str) -> AuthenticatedClient:
    """Register and sign in through the generated client only."""
    anonymous = Client(base_url=app.base_url)
    registered = auth_register.sync_detailed(
        client=anonymous, body=RegistrationIn(email=email, password=PASSWORD)
    )
    assert registered.status_code == 201, registered.content
    tokens = auth_token.sync(client=anonymous, body=TokenForm(username=email, password=PASSWORD))
    assert isinstance(tokens, TokenOut), tokens
    return AuthenticatedClient(base_url=app.base_url, token=tokens.access_token)


def test_a_client_signs_up_and_in_and_is_told_who_it_is(app: AppProcess) -> None:
    client = signed_in(app, "client@example.org")

    me = auth_me.sync(client=client)

    assert me is not None
    assert not isinstance(me, Problem)
    assert me.roles == []
    assert operations_health.sync(client=client) is not None


def test_a_refusal_reaches_the_client_as_the_typed_problem(app: AppProcess) -> None:
    stranger = AuthenticatedClient(base_url=app.base_url, token="not-a-token")

    refused = auth_me.sync_detailed(client=stranger)

    assert refused.status_code == 401
    assert isinstance(refused.parsed, Problem)
    assert refused.parsed.status == 401
    assert "token" in refused.parsed.detail
