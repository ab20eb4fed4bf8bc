"""/auth and /.well-known/jwks.json on the in-memory app: signing in and out, and every kind
of hostile bearer token refused with a 401, never a 500."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dependency_injector import providers
from fastapi import FastAPI

from adapters.tokens import Audience, JwtAccessTokens, KeyRing, kid_of
from domain.principals import Principal
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.signing_in import PASSWORD, bearer, signed_up

PROBLEM = "application/problem+json"
ISSUER = AUDIENCE = "ddd-dqlite"  # the settings' defaults
MISSING = object()


def settings(**changes: Any) -> Settings:
    return Settings(
        storage="memory",
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
        **changes,
    )


def keys_of(app: FastAPI) -> KeyRing:
    keys: KeyRing = app.state.container.key_ring()
    return keys


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: object) -> dict[str, object]:
    """Valid claims for person 1, with `changes` (MISSING leaves a claim out)."""
    now = int(time.time())
    valid: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "1",
        "roles": [],
        "iat": now,
        "nbf": now,
        "exp": now + 900,
    }
    valid.update(changes)
    return {name: value for name, value in valid.items() if value is not MISSING}


def signed(keys: KeyRing, payload: dict[str, object], **header: object) -> str:
    """Signed with the app's own key, under its kid unless `header` says otherwise."""
    return jwt.encode(
        payload, keys.signing, algorithm="EdDSA", headers={"kid": keys.signing_kid, **header}
    )


def signed_raw(keys: KeyRing, payload: bytes) -> str:
    """A payload of any bytes, genuinely signed with the app's key."""
    return jwt.api_jws.encode(
        payload, keys.signing, algorithm="EdDSA", headers={"kid": keys.signing_kid}
    )


def forged(header: dict[str, object], payload: dict[str, object], signature: bytes = b"") -> str:
    """A token put together by hand, as no JWT library would sign it."""
    parts = [b64(json.dumps(part).encode()) for part in (header, payload)]
    return ".".join([*parts, b64(signature)])


def hs256_with(secret: bytes, keys: KeyRing) -> str:
    """Algorithm confusion: HMAC keyed with the public key, which anyone can fetch."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.signing_kid}).encode())
    payload = b64(json.dumps(claims(roles=["admin"])).encode())
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def public_pem(keys: KeyRing) -> bytes:
    return keys.signing.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_raw(keys: KeyRing) -> bytes:
    return keys.signing.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def tampered(keys: KeyRing, **changes: object) -> str:
    """A genuine token whose payload is swapped for another, its signature kept."""
    header, _, signature = signed(keys, claims()).split(".")
    return f"{header}.{b64(json.dumps(claims(**changes)).encode())}.{signature}"


def stranger_signed(keys: KeyRing) -> str:
    """Signed by a key outside the ring, under the kid of the ring's signing key."""
    stranger = Ed25519PrivateKey.generate()
    return jwt.encode(claims(), stranger, algorithm="EdDSA", headers={"kid": keys.signing_kid})


def embedded_jwk(keys: KeyRing) -> str:
    """Signed by the attacker's key, which the header offers (jwk) and names (kid, jku)."""
    stranger = Ed25519PrivateKey.generate()
    public = stranger.public_key()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
    header = {"kid": kid_of(public), "jwk": jwk, "jku": "http://127.0.0.1:9/jwks.json"}
    return jwt.encode(claims(roles=["admin"]), stranger, algorithm="EdDSA", headers=header)


HOSTILE_TOKENS: dict[str, Callable[[KeyRing], str]] = {
    "alg none": lambda k: jwt.encode(
        claims(), "", algorithm="none", headers={"kid": k.signing_kid}
    ),
    "alg None, forged": lambda k: forged({"alg": "None", "kid": k.signing_kid}, claims()),
    "alg none with the genuine signature": lambda k: forged(
        {"alg": "none", "kid": k.signing_kid},
        claims(),
        base64.urlsafe_b64decode(signed(k, claims()).split(".")[2] + "=="),
    ),
    "HS256 keyed with the public key's PEM": lambda k: hs256_with(public_pem(k), k),
    "HS256 keyed with the public key's raw bytes": lambda k: hs256_with(public_raw(k), k),
    "HS256 keyed with the public key's x": lambda k: hs256_with(b64(public_raw(k)).encode(), k),
    "ES256 named by our kid": lambda k: forged(
        {"alg": "ES256", "kid": k.signing_kid}, claims(), b"\x00" * 64
    ),
    "expired": lambda k: signed(k, claims(exp=int(time.time()) - 40, iat=int(time.time()) - 940)),
    "expired long ago": lambda k: signed(k, claims(exp=1, iat=0, nbf=0)),
    "not valid before an hour from now": lambda k: signed(k, claims(nbf=int(time.time()) + 3600)),
    "issued an hour from now": lambda k: signed(k, claims(iat=int(time.time()) + 3600)),
    "wrong issuer": lambda k: signed(k, claims(iss="https://evil.example")),
    "wrong audience": lambda k: signed(k, claims(aud="another-service")),
    "audience list without ours": lambda k: signed(k, claims(aud=["another-service"])),
    "unknown kid": lambda k: signed(k, claims(), kid="no-such-key"),
    "no kid": lambda k: jwt.encode(claims(), k.signing, algorithm="EdDSA"),
    "kid not a string": lambda k: forged({"alg": "EdDSA", "kid": ["x"]}, claims(), b"\x00" * 64),
    "signed by a stranger under our kid": stranger_signed,
    "stranger's key embedded in the header": embedded_jwk,
    "tampered subject": lambda k: tampered(k, sub="2"),
    "tampered roles": lambda k: tampered(k, roles=["admin"]),
    "16 KB, genuinely signed": lambda k: signed(k, claims(padding="x" * 16_384)),
    "16 KB of garbage": lambda k: "a" * 16_384,
    "garbage": lambda k: "garbage",
    "three empty parts": lambda k: "..",
    "three parts of garbage": lambda k: "a.b.c",
    "five parts, as a JWE has": lambda k: "a.b.c.d.e",
    "header not json": lambda k: f"{b64(b'not json')}.{b64(b'{}')}.",
    "header a json list": lambda k: f"{b64(b'[1]')}.{b64(b'{}')}.",
    "payload not json": lambda k: signed_raw(k, b"not json"),
    "payload a json list": lambda k: signed_raw(k, b"[1, 2]"),
    "non-ascii": lambda k: "ünïcödé.😀.x",
    "missing exp": lambda k: signed(k, claims(exp=MISSING)),
    "missing sub": lambda k: signed(k, claims(sub=MISSING)),
    "missing iat": lambda k: signed(k, claims(iat=MISSING)),
    "missing iss": lambda k: signed(k, claims(iss=MISSING)),
    "missing aud": lambda k: signed(k, claims(aud=MISSING)),
    "exp not a number": lambda k: signed(k, claims(exp="tomorrow")),
    "exp beyond any float": lambda k: signed_raw(
        k, json.dumps(claims(exp=MISSING))[:-1].encode() + b', "exp": 1e400}'
    ),
    "sub empty": lambda k: signed(k, claims(sub="")),
    "sub not a string": lambda k: signed(k, claims(sub=1)),
    "sub longer than any owner column": lambda k: signed(k, claims(sub="1" * 256)),
    "sub with a NUL": lambda k: signed(k, claims(sub="1\x00")),
    "roles not a list": lambda k: signed(k, claims(roles="admin")),
    "roles not strings": lambda k: signed(k, claims(roles=[{"admin": True}])),
}


@pytest.mark.parametrize("build", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
async def test_a_hostile_token_is_a_401_asking_for_a_bearer_token(
    app: FastAPI, anonymous: httpx.AsyncClient, build: Callable[[KeyRing], str]
) -> None:
    token = build(keys_of(app))

    answer = await anonymous.get("/auth/me", headers={b"Authorization": f"Bearer {token}".encode()})

    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "Bearer" in answer.headers["www-authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWxpY2VAZXhhbXBsZS5vcmc6cGFzc3dvcmQ=",
        "Digest username=alice",
        "Token abc",
        "Bearer",
        "Bearer ",
        "",
    ],
)
async def test_no_bearer_token_is_a_401_asking_for_one(
    anonymous: httpx.AsyncClient, authorization: str
) -> None:
    answer = await anonymous.get("/auth/me", headers={"Authorization": authorization})

    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "Bearer" in answer.headers["www-authenticate"]


async def test_a_genuine_token_of_the_app_is_accepted(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    """What the hostile tokens are variations of is itself accepted: each is refused for its
    one difference, not for the way the tests build tokens."""
    token = signed(keys_of(app), claims(sub="42", roles=["admin"]))

    answer = await anonymous.get("/auth/me", headers=bearer(token))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"subject": "42", "roles": ["admin"]}
    within_leeway = signed(keys_of(app), claims(nbf=int(time.time()) + 10))
    assert (await anonymous.get("/auth/me", headers=bearer(within_leeway))).status_code == 200


# Registering, signing in and out


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


async def test_register_is_a_201_and_the_same_email_in_other_letters_a_409(
    anonymous: httpx.AsyncClient,
) -> None:
    created = await anonymous.post(
        "/auth/register", json={"email": "Carol@Example.org", "password": PASSWORD}
    )
    twin = await anonymous.post(
        "/auth/register", json={"email": "CAROL@example.ORG", "password": PASSWORD + "!"}
    )

    assert created.status_code == 201, created.text
    assert created.json() == {"id": created.json()["id"], "email": "Carol@Example.org"}
    assert isinstance(created.json()["id"], int)
    assert twin.status_code == 409, twin.text
    assert twin.headers["content-type"] == PROBLEM
    assert (await sign_in(anonymous, "carol@example.org")).status_code == 200
    assert (await sign_in(anonymous, "carol@example.org", PASSWORD + "!")).status_code == 401


@pytest.mark.parametrize("password", ["password123", "short", "x" * 129])
async def test_register_refuses_a_weak_short_or_long_password_with_a_422(
    anonymous: httpx.AsyncClient, password: str
) -> None:
    answer = await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": password}
    )

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert password not in answer.text
    registered = await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )
    assert registered.status_code == 201  # the refused one registered nobody


async def test_the_password_grant_gives_bearer_tokens_that_are_not_cached(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )

    answer = await anonymous.post(
        "/auth/token",
        data={"grant_type": "password", "username": "Carol@Example.org", "password": PASSWORD},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 15 * 60)
    assert answer.headers["cache-control"] == "no-store"
    assert jwt.get_unverified_header(body["access_token"])["kid"] == keys_of(app).signing_kid
    me = await anonymous.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {"username": "carol@example.org", "password": "the wrong password"},
        {"username": "nobody@example.org", "password": PASSWORD},
        {"username": "carol@example.org"},
        {"grant_type": "refresh_token", "refresh_token": "never issued"},
    ],
    ids=["wrong password", "unknown email", "no password", "unknown refresh token"],
)
async def test_wrong_credentials_are_refused_without_a_500(
    anonymous: httpx.AsyncClient, form: dict[str, str]
) -> None:
    await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )

    answer = await anonymous.post("/auth/token", data=form)

    assert answer.status_code in (401, 422), answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "access_token" not in answer.text


async def test_the_refresh_grant_rotates_and_a_reused_refresh_token_signs_the_family_out(
    anonymous: httpx.AsyncClient,
) -> None:
    await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )
    first = (await sign_in(anonymous, "carol@example.org")).json()

    second = await anonymous.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert (
        await anonymous.get("/auth/me", headers=bearer(second.json()["access_token"]))
    ).status_code == 200

    reused = await anonymous.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    newest = await anonymous.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
    )
    assert (reused.status_code, newest.status_code) == (401, 401)


async def test_logout_is_a_204_and_the_refresh_token_then_a_401(
    anonymous: httpx.AsyncClient,
) -> None:
    await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )
    tokens = (await sign_in(anonymous, "carol@example.org")).json()

    out = await anonymous.post("/auth/logout", data={"refresh_token": tokens["refresh_token"]})
    refreshed = await anonymous.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )

    assert out.status_code == 204, out.text
    assert refreshed.status_code == 401
    assert "Bearer" in refreshed.headers["www-authenticate"]
    again = await anonymous.post("/auth/logout", data={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 204  # says nothing about which tokens exist


async def test_me_names_the_subject_and_roles_of_the_token(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    alice = await client.get("/auth/me")
    root = await admin.get("/auth/me")
    nobody = await anonymous.get("/auth/me")

    assert alice.status_code == 200, alice.text
    assert alice.json()["roles"] == []
    assert alice.json()["subject"].isdigit()
    assert root.json()["roles"] == ["admin"]
    assert root.json()["subject"] != alice.json()["subject"]
    assert nobody.status_code == 401
    assert nobody.headers["www-authenticate"] == "Bearer"


async def test_the_11th_failed_login_within_a_minute_is_a_429_with_retry_after(
    anonymous: httpx.AsyncClient,
) -> None:
    await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )
    for _ in range(10):
        assert (
            await sign_in(anonymous, "carol@example.org", "the wrong password")
        ).status_code == 401

    limited = await sign_in(anonymous, "carol@example.org")

    assert limited.status_code == 429, limited.text
    assert limited.headers["content-type"] == PROBLEM
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_a_burst_of_concurrent_failed_logins_gets_no_more_than_10_answers_but_429(
    anonymous: httpx.AsyncClient,
) -> None:
    await anonymous.post(
        "/auth/register", json={"email": "carol@example.org", "password": PASSWORD}
    )

    answers = await asyncio.gather(
        *(sign_in(anonymous, "carol@example.org", f"wrong guess {n}") for n in range(30))
    )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 10 + [429] * 20


# The keys


async def test_the_jwks_publishes_the_signing_key_and_no_private_member(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    headers = await signed_up(anonymous, "alice@example.org")

    answer = await anonymous.get("/.well-known/jwks.json")

    assert answer.status_code == 200
    (published,) = answer.json()["keys"]
    assert published["kid"] == keys_of(app).signing_kid
    assert (published["kty"], published["crv"], published["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(published)
    # What it publishes verifies what the app signs.
    token = headers["Authorization"].removeprefix("Bearer ")
    key = jwt.PyJWK(published).key
    assert jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE)["iss"] == ISSUER


def write_key(path: Path, key: Ed25519PrivateKey, *, public: bool = False) -> Path:
    if public:
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    path.write_bytes(pem)
    return path


@pytest.fixture
async def rotated(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Ed25519PrivateKey]]]:
    """An app that signs with a new key and still verifies with two previous ones (one kept
    as its public half, one whole), all read from files as in production."""
    keys = {name: Ed25519PrivateKey.generate() for name in ("new", "old", "older")}
    container = Container()
    container.settings.override(
        providers.Object(
            settings(
                auth_signing_key=write_key(tmp_path / "new.pem", keys["new"]),
                auth_previous_keys=",".join(
                    [
                        str(write_key(tmp_path / "old.pub.pem", keys["old"], public=True)),
                        str(write_key(tmp_path / "older.pem", keys["older"])),
                    ]
                ),
            )
        )
    )
    app = create_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, keys


def issued_with(key: Ed25519PrivateKey, subject: str = "7") -> str:
    tokens = JwtAccessTokens(KeyRing(key), Audience(ISSUER, AUDIENCE), 900)
    return tokens.issue(Principal(subject, frozenset({"admin"})))


async def test_a_token_of_a_previous_key_still_verifies_after_a_rotation(
    rotated: tuple[httpx.AsyncClient, dict[str, Ed25519PrivateKey]],
) -> None:
    client, keys = rotated

    for name in ("old", "older", "new"):
        answer = await client.get("/auth/me", headers=bearer(issued_with(keys[name])))
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json() == {"subject": "7", "roles": ["admin"]}

    published = {key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert published == {kid_of(key.public_key()) for key in keys.values()}


async def test_a_token_of_a_key_not_in_the_ring_is_refused_after_a_rotation(
    rotated: tuple[httpx.AsyncClient, dict[str, Ed25519PrivateKey]],
) -> None:
    client, _ = rotated

    answer = await client.get("/auth/me", headers=bearer(issued_with(Ed25519PrivateKey.generate())))

    assert answer.status_code == 401
    assert "Bearer" in answer.headers["www-authenticate"]


async def test_after_a_rotation_new_tokens_are_signed_with_the_new_key(
    rotated: tuple[httpx.AsyncClient, dict[str, Ed25519PrivateKey]],
) -> None:
    client, keys = rotated
    await client.post("/auth/register", json={"email": "carol@example.org", "password": PASSWORD})

    token = (await sign_in(client, "carol@example.org")).json()["access_token"]

    assert jwt.get_unverified_header(token)["kid"] == kid_of(keys["new"].public_key())
