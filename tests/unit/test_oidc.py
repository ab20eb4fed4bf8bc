"""APP_AUTH_MODE=oidc: bearer tokens of another issuer, verified against the JWKS it serves.
The issuer here is the tests': keys they make, served over real HTTP on 127.0.0.1."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dependency_injector import providers
from fastapi import FastAPI

from adapters.oidc import OidcVerifier
from adapters.tokens import Audience
from domain.errors import Unauthenticated
from domain.principals import Principal
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.signing_in import PASSWORD, bearer

ISSUER = "https://idp.test/realms/company"
AUDIENCE = "orders-service"
ROLES_CLAIM = "realm_access.roles"
PROBLEM = "application/problem+json"

type PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class Issuer:
    """An identity provider as far as verifiers see one: its keys, and a JWKS of their public
    halves served over HTTP (what it serves can change, as in a rotation)."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[PrivateKey, str]] = {}  # kid: (key, algorithm)
        self.served: list[str] = []  # the kids the JWKS lists
        self.fetches = 0
        self.failing = False
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                if issuer.failing:
                    self.send_error(500)
                    return
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/protocol/openid-connect/certs"

    def stop(self) -> None:
        """Stop serving and close the port: from now on, connections to it are refused."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()

    def add_key(self, kid: str, key: PrivateKey, algorithm: str, *, served: bool = True) -> None:
        self.keys[kid] = (key, algorithm)
        if served:
            self.served.append(kid)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        keys = []
        for kid in self.served:
            key, algorithm = self.keys[kid]
            if isinstance(key, rsa.RSAPrivateKey):
                jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            else:
                jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
        return {"keys": keys}

    def token(self, kid: str, **changes: object) -> str:
        key, algorithm = self.keys[kid]
        return jwt.encode(claims(**changes), key, algorithm=algorithm, headers={"kid": kid})


def claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    valid: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["admin", "reader"]},
        "preferred_username": "alice",
    }
    valid.update(changes)
    return valid


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture
def issuer(rsa_keys: list[rsa.RSAPrivateKey]) -> Iterator[Issuer]:
    issuer = Issuer()
    issuer.add_key("rsa-1", rsa_keys[0], "RS256")
    issuer.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")
    try:
        yield issuer
    finally:
        issuer.stop()


def verifier_of(issuer: Issuer, **options: Any) -> OidcVerifier:
    return OidcVerifier(issuer.url, Audience(ISSUER, AUDIENCE), ROLES_CLAIM, **options)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# Accepted


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
async def test_a_token_of_the_issuer_is_accepted_with_roles_from_the_nested_claim(
    issuer: Issuer, kid: str
) -> None:
    principal = await verifier_of(issuer).principal(issuer.token(kid))

    assert principal == Principal(
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", frozenset({"admin", "reader"})
    )


async def test_a_token_for_several_audiences_among_them_ours_is_accepted(
    issuer: Issuer,
) -> None:
    token = issuer.token("rsa-1", aud=["account", AUDIENCE])

    assert (await verifier_of(issuer).principal(token)).subject


async def test_a_token_without_the_roles_claim_has_no_roles(issuer: Issuer) -> None:
    token = issuer.token("rsa-1", realm_access={"other": ["admin"]})

    assert (await verifier_of(issuer).principal(token)).roles == frozenset()


async def test_the_keys_are_fetched_once_and_cached(issuer: Issuer) -> None:
    verifier = verifier_of(issuer)

    for _ in range(3):
        await verifier.principal(issuer.token("rsa-1"))

    assert issuer.fetches == 1


# Rotation at the issuer


async def test_an_unknown_kid_makes_the_verifier_fetch_the_keys_again(
    issuer: Issuer, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    verifier = verifier_of(issuer, refetch_after_seconds=0)
    await verifier.principal(issuer.token("rsa-1"))

    issuer.add_key("rsa-2", rsa_keys[1], "RS256")  # the issuer rotates

    assert (await verifier.principal(issuer.token("rsa-2"))).subject
    assert issuer.fetches == 2


async def test_unknown_kids_do_not_make_it_fetch_again_within_the_cooldown(
    issuer: Issuer, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    verifier = verifier_of(issuer, refetch_after_seconds=60)
    await verifier.principal(issuer.token("rsa-1"))
    issuer.add_key("rsa-2", rsa_keys[1], "RS256", served=False)

    for _ in range(5):  # made-up kids cannot make it hammer the issuer
        with pytest.raises(Unauthenticated):
            await verifier.principal(issuer.token("rsa-2"))

    assert issuer.fetches == 1


async def test_a_key_the_issuer_withdrew_stops_verifying_once_the_cache_expires(
    issuer: Issuer, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    verifier = verifier_of(issuer, refetch_after_seconds=0, cache_seconds=0.2)
    leaked = issuer.token("rsa-1")
    assert await verifier.principal(leaked)

    issuer.add_key("rsa-2", rsa_keys[1], "RS256")
    issuer.served.remove("rsa-1")  # withdrawn, say because it leaked
    await asyncio.sleep(0.3)

    with pytest.raises(Unauthenticated):
        await verifier.principal(leaked)
    assert await verifier.principal(issuer.token("rsa-2"))


# Refused


def hs256_with_the_public_pem(issuer: Issuer) -> str:
    """Algorithm confusion: HMAC keyed with the RSA public key, which anyone can fetch."""
    key, _ = issuer.keys["rsa-1"]
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


REFUSED = {
    "HS256 keyed with the public key PEM": hs256_with_the_public_pem,
    "alg none": lambda i: jwt.encode(claims(), "", algorithm="none", headers={"kid": "rsa-1"}),
    "wrong audience": lambda i: i.token("rsa-1", aud="another-service"),
    "audiences without ours": lambda i: i.token("rsa-1", aud=["account", "another"]),
    "wrong issuer": lambda i: i.token("rsa-1", iss="https://evil.example"),
    "expired": lambda i: i.token("rsa-1", exp=int(time.time()) - 120),
    "not valid yet": lambda i: i.token("rsa-1", nbf=int(time.time()) + 3600),
    "unknown kid": lambda i: i.token("rsa-1").replace(
        i.token("rsa-1").split(".")[0], b64(b'{"alg":"RS256","kid":"nope"}')
    ),
    "RS256 token under the EC key's kid": lambda i: jwt.encode(
        claims(), i.keys["rsa-1"][0], algorithm="RS256", headers={"kid": "ec-1"}
    ),
    "roles not a list": lambda i: i.token("rsa-1", realm_access={"roles": "admin"}),
    "subject too long": lambda i: i.token("rsa-1", sub="s" * 300),
    "missing exp": lambda i: jwt.encode(
        {k: v for k, v in claims().items() if k != "exp"},
        i.keys["rsa-1"][0],
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    ),
}


@pytest.mark.parametrize("build", REFUSED.values(), ids=REFUSED.keys())
async def test_a_hostile_or_foreign_token_is_refused(issuer: Issuer, build: Any) -> None:
    with pytest.raises(Unauthenticated):
        await verifier_of(issuer, refetch_after_seconds=0).principal(build(issuer))


async def test_a_symmetric_key_in_the_jwks_never_verifies(issuer: Issuer) -> None:
    secret = b"a shared secret the JWKS must never publish"
    served = issuer.jwks

    def with_an_oct_key() -> dict[str, list[dict[str, Any]]]:
        oct_key = {"kty": "oct", "kid": "oct-1", "alg": "HS256", "k": b64(secret)}
        return {"keys": [*served()["keys"], oct_key]}

    issuer.jwks = with_an_oct_key  # type: ignore[method-assign]
    token = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "oct-1"})

    with pytest.raises(Unauthenticated):
        await verifier_of(issuer).principal(token)


async def test_the_issuer_unreachable_is_unauthenticated_not_a_crash(issuer: Issuer) -> None:
    token = issuer.token("rsa-1")
    verifier = verifier_of(issuer, timeout_seconds=1)
    issuer.stop()

    with pytest.raises(Unauthenticated, match="cannot be fetched"):
        await verifier.principal(token)


async def test_the_issuer_failing_is_unauthenticated_not_a_crash(issuer: Issuer) -> None:
    issuer.failing = True

    with pytest.raises(Unauthenticated):
        await verifier_of(issuer).principal(issuer.token("rsa-1"))


# The app in OIDC mode


@pytest.fixture
async def oidc_app(issuer: Issuer) -> AsyncIterator[httpx.AsyncClient]:
    container = Container()
    container.settings.override(
        providers.Object(
            Settings(
                storage="memory",
                auth_mode="oidc",
                oidc_jwks_url=issuer.url,
                oidc_issuer=ISSUER,
                oidc_audience=AUDIENCE,
                oidc_roles_claim=ROLES_CLAIM,
            )
        )
    )
    app: FastAPI = create_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_the_app_in_oidc_mode_takes_the_issuers_token(
    issuer: Issuer, oidc_app: httpx.AsyncClient
) -> None:
    answer = await oidc_app.get("/auth/me", headers=bearer(issuer.token("ec-1")))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "subject": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "roles": ["admin", "reader"],
    }
    foreign = await oidc_app.get("/auth/me", headers=bearer(issuer.token("ec-1", aud="other")))
    assert foreign.status_code == 401
    assert "Bearer" in foreign.headers["www-authenticate"]


async def test_the_app_in_oidc_mode_signs_nobody_in_itself(oidc_app: httpx.AsyncClient) -> None:
    token = await oidc_app.post("/auth/token", data={"username": "a@b.org", "password": PASSWORD})
    register = await oidc_app.post(
        "/auth/register", json={"email": "a@example.org", "password": PASSWORD}
    )
    jwks = await oidc_app.get("/.well-known/jwks.json")

    assert token.status_code == 403, token.text
    assert token.headers["content-type"] == PROBLEM
    assert "identity provider" in token.json()["detail"]
    assert register.status_code == 403
    assert jwks.json() == {"keys": []}  # the issuer publishes its own


async def test_the_app_in_oidc_mode_answers_401_when_the_issuer_is_down(
    issuer: Issuer, oidc_app: httpx.AsyncClient
) -> None:
    token = issuer.token("rsa-1")
    issuer.stop()

    answer = await oidc_app.get("/auth/me", headers=bearer(token))

    assert answer.status_code == 401, answer.text
    assert "Bearer" in answer.headers["www-authenticate"]
