"""Signing in on a 3-node cluster: whichever node a client reaches, a token, a refresh, a revoked
family, a role and the sign-in limit are the same, because all of it is in the identity
database or in the key every node shares."""

import os
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus

import httpx
import pytest

from tests.integration.cluster import Cluster, running_cluster
from tests.integration.process import ROOT, AppProcess
from tests.signing_in import PASSWORD, bearer

pytestmark = pytest.mark.dqlite


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("auth-cluster")) as cluster:
        yield cluster


def client(app: AppProcess) -> httpx.Client:
    return httpx.Client(base_url=app.base_url, timeout=10, trust_env=False)


def register(app: AppProcess, email: str) -> None:
    with client(app) as http:
        answer = http.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == HTTPStatus.CREATED, answer.text


def token(app: AppProcess, **form: str) -> httpx.Response:
    with client(app) as http:
        return http.post("/auth/token", data=form)


def me(app: AppProcess, access_token: str) -> httpx.Response:
    with client(app) as http:
        return http.get("/auth/me", headers=bearer(access_token))


def test_a_token_from_one_node_is_accepted_by_every_node(cluster: Cluster) -> None:
    first, second, third = cluster.apps.values()
    register(first, "everywhere@example.org")
    signed = token(second, username="everywhere@example.org", password=PASSWORD)
    assert signed.status_code == HTTPStatus.OK, signed.text

    for app in (first, second, third):
        answer = me(app, signed.json()["access_token"])
        assert answer.status_code == HTTPStatus.OK, answer.text
    with client(first) as one, client(third) as other:
        assert (
            one.get("/.well-known/jwks.json").json() == other.get("/.well-known/jwks.json").json()
        )


def test_a_refresh_token_used_twice_on_two_nodes_revokes_its_family_on_all(
    cluster: Cluster,
) -> None:
    first, second, third = cluster.apps.values()
    register(first, "copied@example.org")
    signed = token(first, username="copied@example.org", password=PASSWORD).json()
    refreshed = token(third, grant_type="refresh_token", refresh_token=signed["refresh_token"])
    assert refreshed.status_code == HTTPStatus.OK, refreshed.text

    reused = token(second, grant_type="refresh_token", refresh_token=signed["refresh_token"])
    newest = token(
        first, grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"]
    )

    assert reused.status_code == HTTPStatus.UNAUTHORIZED, reused.text
    assert newest.status_code == HTTPStatus.UNAUTHORIZED, newest.text


def cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "--cluster", ",".join(cluster.addresses), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("APP_")},
    )


def test_a_role_granted_with_the_cli_is_in_the_next_token_and_disabling_stops_refreshes(
    cluster: Cluster,
) -> None:
    first, second, _ = cluster.apps.values()
    register(first, "Operator@Example.org")
    before = token(second, username="operator@example.org", password=PASSWORD).json()

    granted = cli(cluster, "grant-role", "operator@example.org", "admin")
    assert granted.returncode == 0, granted.stdout + granted.stderr
    after = token(second, username="operator@example.org", password=PASSWORD).json()
    assert me(first, before["access_token"]).json()["roles"] == []
    assert me(first, after["access_token"]).json()["roles"] == ["admin"]

    disabled = cli(cluster, "disable", "operator@example.org")
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    refresh = token(first, grant_type="refresh_token", refresh_token=after["refresh_token"])
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED, refresh.text
    again = token(second, username="operator@example.org", password=PASSWORD)
    assert again.status_code == HTTPStatus.UNAUTHORIZED, again.text


def token_from(app: AppProcess, source: str, **form: str) -> httpx.Response:
    """A token request sent from the loopback address `source` (every 127/8 address is this
    machine's): a client address of its own, for the per-address limit."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=app.base_url, timeout=10, transport=transport) as http:
        return http.post("/auth/token", data=form)


def test_the_eleventh_failed_sign_in_is_refused_on_another_node_too(cluster: Cluster) -> None:
    first, second, third = cluster.apps.values()
    register(first, "guessed@example.org")
    for _ in range(10):
        wrong = token_from(
            first, "127.0.0.2", username="guessed@example.org", password="not the password"
        )
        assert wrong.status_code == HTTPStatus.UNAUTHORIZED, wrong.text

    # The email's limit, from another address; the address's limit, for another email.
    by_email = token_from(second, "127.0.0.3", username="guessed@example.org", password=PASSWORD)
    by_address = token_from(third, "127.0.0.2", username="other@example.org", password=PASSWORD)

    for refused in (by_email, by_address):
        assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS, refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "email" in by_email.json()["detail"]
    assert "address" in by_address.json()["detail"]
