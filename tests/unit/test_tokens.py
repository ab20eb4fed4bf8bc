"""The key ring: keys made once for development, read from files in production, named by their
RFC 7638 thumbprint; and what a rotation keeps verifying."""

import base64
import logging
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from dependency_injector import providers
from pydantic import ValidationError

from adapters.tokens import (
    GENERATED_KEY_NAME,
    Audience,
    JwtAccessTokens,
    JwtVerifier,
    KeyRing,
    VerifiedTokens,
    kid_of,
)
from domain.errors import Unauthenticated
from domain.principals import Principal
from entrypoints.container import Container
from entrypoints.settings import Settings

AUDIENCE = Audience("https://issuer.test", "https://service.test")


def private_pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def written(path: Path, pem: bytes) -> Path:
    path.write_bytes(pem)
    return path


def token_of(key: Ed25519PrivateKey) -> str:
    return JwtAccessTokens(KeyRing(key), AUDIENCE, 900).issue(Principal("7"))


# Made once, for development


def test_generated_under_makes_one_key_and_a_second_call_gets_the_same(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "data" / "auth"  # made if missing

    with caplog.at_level(logging.WARNING):
        first = KeyRing.generated_under(directory)
        second = KeyRing.generated_under(directory)

    assert first.signing_kid == second.signing_kid
    assert [path.name for path in directory.iterdir()] == [GENERATED_KEY_NAME]
    warnings = [r for r in caplog.records if "APP_AUTH_SIGNING_KEY" in r.getMessage()]
    assert len(warnings) == 1  # when it was made, not each time it is read


def test_the_generated_key_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    KeyRing.generated_under(tmp_path)

    mode = (tmp_path / GENERATED_KEY_NAME).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


async def test_a_key_generated_by_one_ring_verifies_the_tokens_another_ring_signs(
    tmp_path: Path,
) -> None:
    """Two nodes of `make cluster` given the same directory accept each other's tokens."""
    node_one = KeyRing.generated_under(tmp_path)
    node_two = KeyRing.generated_under(tmp_path)

    token = JwtAccessTokens(node_one, AUDIENCE, 900).issue(Principal("7"))

    assert await JwtVerifier(node_two, AUDIENCE).principal(token) == Principal("7")


@pytest.mark.parametrize("round", range(5))
def test_rings_made_at_once_from_many_threads_all_get_the_same_key(
    tmp_path: Path, round: int
) -> None:
    directory = tmp_path / "auth"
    starting_gun = threading.Barrier(12)

    def make() -> str:
        starting_gun.wait()
        return KeyRing.generated_under(directory).signing_kid

    with ThreadPoolExecutor(max_workers=12) as pool:
        kids = list(pool.map(lambda _: make(), range(12)))

    assert len(set(kids)) == 1
    assert [path.name for path in directory.iterdir()] == [GENERATED_KEY_NAME]  # no drafts left
    assert KeyRing.generated_under(directory).signing_kid == kids[0]


def test_a_container_without_configured_keys_makes_them_under_the_key_dir(tmp_path: Path) -> None:
    def ring() -> KeyRing:
        container = Container()
        container.settings.override(
            providers.Object(Settings(storage="memory", auth_key_dir=tmp_path))
        )
        keys: KeyRing = container.key_ring()
        return keys

    assert ring().signing_kid == ring().signing_kid
    assert (tmp_path / GENERATED_KEY_NAME).exists()


def test_production_without_a_signing_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="APP_AUTH_SIGNING_KEY"):
        Settings(storage="memory", environment="production")

    key = written(tmp_path / "key.pem", private_pem(Ed25519PrivateKey.generate()))
    assert Settings(storage="memory", environment="production", auth_signing_key=key)


# Read from files


async def test_from_files_signs_with_the_new_key_and_verifies_with_the_previous_ones(
    tmp_path: Path,
) -> None:
    new, old, older = (Ed25519PrivateKey.generate() for _ in range(3))
    ring = KeyRing.from_files(
        written(tmp_path / "new.pem", private_pem(new)),
        [
            written(tmp_path / "old.pub.pem", public_pem(old)),  # kept as its public half
            written(tmp_path / "older.pem", private_pem(older)),  # kept whole
        ],
    )
    verifier = JwtVerifier(ring, AUDIENCE)

    assert ring.signing_kid == kid_of(new.public_key())
    assert set(ring.verifying()) == {kid_of(key.public_key()) for key in (new, old, older)}
    for key in (new, old, older):
        assert await verifier.principal(token_of(key)) == Principal("7")
    with pytest.raises(Unauthenticated):
        await verifier.principal(token_of(Ed25519PrivateKey.generate()))
    jwks = ring.jwks()["keys"]
    assert {key["kid"] for key in jwks} == set(ring.verifying())
    assert all("d" not in key for key in jwks)


async def test_a_ring_without_previous_keys_refuses_a_token_of_the_old_key(
    tmp_path: Path,
) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ring = KeyRing.from_files(written(tmp_path / "new.pem", private_pem(new)))

    with pytest.raises(Unauthenticated, match="key this service does not know"):
        await JwtVerifier(ring, AUDIENCE).principal(token_of(old))


def test_from_files_refuses_a_key_that_is_not_ed25519_naming_the_file(tmp_path: Path) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    good = written(tmp_path / "good.pem", private_pem(Ed25519PrivateKey.generate()))

    with pytest.raises(ValueError, match=r"p256\.pem"):
        KeyRing.from_files(written(tmp_path / "p256.pem", private_pem(p256)))
    with pytest.raises(ValueError, match=r"p256\.pub\.pem"):
        KeyRing.from_files(good, [written(tmp_path / "p256.pub.pem", public_pem(p256))])


# The kid


def test_the_kid_is_the_rfc_7638_thumbprint_of_the_public_key() -> None:
    """RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key."""
    x = base64.urlsafe_b64decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")

    kid = kid_of(Ed25519PublicKey.from_public_bytes(x))

    assert kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_kid_is_stable_across_loads_and_encodings(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    as_private = written(tmp_path / "key.pem", private_pem(key))
    as_public = written(tmp_path / "key.pub.pem", public_pem(key))

    first, again = KeyRing.from_files(as_private), KeyRing.from_files(as_private)
    with_public_half = KeyRing.from_files(
        written(tmp_path / "other.pem", private_pem(Ed25519PrivateKey.generate())), [as_public]
    )

    assert first.signing_kid == again.signing_kid == kid_of(key.public_key())
    assert first.signing_kid in with_public_half.verifying()
    assert first.jwks() == again.jwks()


def test_a_verified_token_is_known_from_its_start_to_its_expiry_within_the_leeway() -> None:
    tokens = VerifiedTokens(leeway_seconds=30)
    tokens.remember("t", Principal("7"), {"iat": 1000, "nbf": 1000, "exp": 1900})

    assert tokens.get("t", 969) is None
    assert tokens.get("t", 970) == Principal("7")
    assert tokens.get("t", 1929.9) == Principal("7")
    assert tokens.get("t", 1930) is None
    assert tokens.get("t", 1000) is None  # once refused, forgotten: verified afresh next time
    assert tokens.get("never verified", 1000) is None


def test_verified_tokens_forget_the_longest_unused_once_full() -> None:
    tokens = VerifiedTokens(leeway_seconds=0, capacity=2)
    claims = {"iat": 0, "exp": 100}
    tokens.remember("a", Principal("a"), claims)
    tokens.remember("b", Principal("b"), claims)
    assert tokens.get("a", 1) == Principal("a")  # now b is the longest unused
    tokens.remember("c", Principal("c"), claims)

    assert [tokens.get(token, 1) for token in "abc"] == [Principal("a"), None, Principal("c")]


async def test_a_token_verified_once_is_answered_again_without_parsing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = Ed25519PrivateKey.generate()
    verifier, token = JwtVerifier(KeyRing(key), AUDIENCE), token_of(key)
    assert await verifier.principal(token) == Principal("7")
    monkeypatch.setattr("adapters.tokens.decode", None)  # any second parse would fail

    assert await verifier.principal(token) == Principal("7")
