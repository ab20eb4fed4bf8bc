"""Access tokens of the local identity context: JWTs signed with Ed25519 (EdDSA), named by a
`kid`; verified against the signing key and the previous ones during a rotation. The public
halves are what /.well-known/jwks.json publishes."""

import base64
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.errors import InvalidValue, Unauthenticated
from domain.principals import Principal
from service.identity import AbstractAccessTokens, AbstractTokenVerifier

logger = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
MAX_TOKEN_BYTES = 8192  # far above any token issued here; larger ones are not even parsed
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
GENERATED_KEY_NAME = "signing-key.pem"


def kid_of(public: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: the same key gets the same kid on every node."""
    canonical = json.dumps(_public_jwk_members(public), separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class KeyRing:
    """The key that signs, and every public key that verifies (the signing key's among them)."""

    signing: Ed25519PrivateKey
    previous: tuple[Ed25519PublicKey, ...] = ()

    @property
    def signing_kid(self) -> str:
        return kid_of(self.signing.public_key())

    def verifying(self) -> dict[str, Ed25519PublicKey]:
        keys = (self.signing.public_key(), *self.previous)
        return {kid_of(key): key for key in keys}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JSON Web Key Set: never a private member."""
        return {
            "keys": [
                {**_public_jwk_members(key), "kid": kid, "use": "sig", "alg": ALGORITHM}
                for kid, key in self.verifying().items()
            ]
        }

    @classmethod
    def from_files(cls, signing: Path, previous: Sequence[Path] = ()) -> "KeyRing":
        return cls(_private_key(signing), tuple(_public_key(path) for path in previous))

    @classmethod
    def generated_under(cls, directory: Path) -> "KeyRing":
        """The key pair made once in `directory` (made now if there is none): for development,
        where nobody configured one. Every node given the same directory shares it."""
        path = directory / GENERATED_KEY_NAME
        if not path.exists():
            _write_new_key(path)
        return cls(_private_key(path))

    @classmethod
    def ephemeral(cls) -> "KeyRing":
        """A key that lives as long as this process: for the in-memory store."""
        return cls(Ed25519PrivateKey.generate())


@dataclass(frozen=True)
class Audience:
    """Who issues tokens and who they are for: both are checked on every token."""

    issuer: str
    audience: str
    leeway_seconds: int = 30


class JwtAccessTokens(AbstractAccessTokens):
    def __init__(self, keys: KeyRing, audience: Audience, lifetime_seconds: int) -> None:
        self._keys = keys
        self._audience = audience
        self._kid = keys.signing_kid
        self.lifetime_seconds = lifetime_seconds

    def issue(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "iss": self._audience.issuer,
            "aud": self._audience.audience,
            "sub": principal.subject,
            "roles": sorted(principal.roles),
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime_seconds,
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(
            claims, self._keys.signing, algorithm=ALGORITHM, headers={"kid": self._kid}
        )


class JwtVerifier(AbstractTokenVerifier):
    """Verifies tokens signed by this service's keys, each once: a client sends the same
    token with every request until it expires, and parsing and checking it cost 0.3 ms."""

    def __init__(self, keys: KeyRing, audience: Audience) -> None:
        self._keys = keys.verifying()
        self._audience = audience
        self._verified = VerifiedTokens(audience.leeway_seconds)

    async def principal(self, token: str) -> Principal:
        if (known := self._verified.get(token, time.time())) is not None:
            return known
        kid = unverified_kid(token)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("the token is signed by a key this service does not know")
        claims = decode(token, key, [ALGORITHM], self._audience)
        principal = principal_of(claims, "roles")
        self._verified.remember(token, principal, claims)
        return principal


class VerifiedTokens:
    """The principals of tokens verified lately, each until its claims' times say no more
    (the same `exp`, `nbf` and `iat` checks with the same leeway as PyJWT's), at most
    `capacity` of them, the longest unused forgotten first. Only verified tokens get in."""

    def __init__(self, leeway_seconds: float, capacity: int = 10_000) -> None:
        self._leeway = leeway_seconds
        self._capacity = capacity
        self._known: dict[str, tuple[Principal, float, float]] = {}  # valid from, until

    def get(self, token: str, now: float) -> Principal | None:
        known = self._known.get(token)
        if known is None:
            return None
        principal, valid_from, valid_until = known
        if now >= valid_until:
            del self._known[token]
        if not valid_from <= now < valid_until:
            return None  # verified again by the caller, which then says why it is refused
        self._known[token] = self._known.pop(token)  # the most recently used: dicts keep order
        return principal

    def remember(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        starts = max(float(claims.get("nbf", 0)), float(claims["iat"]))
        self._known[token] = (principal, starts - self._leeway, claims["exp"] + self._leeway)
        if len(self._known) > self._capacity:
            del self._known[next(iter(self._known))]


def unverified_kid(token: str) -> str:
    """The `kid` of a token's header, read before its signature is checked (to pick the key)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated(f"the token is longer than {MAX_TOKEN_BYTES} bytes")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not a well-formed JWT") from None
    if not isinstance(kid, str):
        raise Unauthenticated("the token's header names no key (kid)")
    return kid


def decode(
    token: str,
    key: Any,
    algorithms: list[str],
    audience: Audience,
    *,
    audience_list: bool = False,
) -> dict[str, Any]:
    """The token's claims once its signature, algorithm, issuer, audience and times hold.

    `aud` must be our audience itself, or (`audience_list`, for issuers that name several
    audiences, as OIDC allows) a list that holds it.
    """
    try:
        return jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience.audience,
            issuer=audience.issuer,
            leeway=audience.leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": not audience_list},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as error:
        # TypeError/ValueError: a key of another family than the token's algorithm claims.
        raise Unauthenticated(f"the token was refused: {_reason(error)}") from None


def principal_of(claims: dict[str, Any], roles_claim: str) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the token names no subject")
    roles: Any = claims
    for part in roles_claim.split("."):
        roles = roles.get(part) if isinstance(roles, dict) else None
    if roles is None:
        roles = []
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthenticated(f"the token's {roles_claim!r} claim is not a list of strings")
    try:
        return Principal(subject, frozenset(roles))
    except InvalidValue:  # a subject no owner column could hold: the token's fault, a 401
        raise Unauthenticated("the token's subject is too long or not text") from None


def _reason(error: Exception) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "it has expired"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "it is not valid yet"
    if isinstance(error, jwt.InvalidIssuerError | jwt.InvalidAudienceError):
        return "it was issued by or for someone else"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"it lacks the {error.claim!r} claim"
    if isinstance(error, jwt.InvalidAlgorithmError | TypeError | ValueError):
        return "its algorithm is not accepted"
    return "its signature or form is not valid"


def _public_jwk_members(public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(
            f"{path}: not an Ed25519 private key (make one: openssl genpkey -algorithm ed25519)"
        )
    return key


def _public_key(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:  # a previous signing key, kept whole: verify with its public half
        return _private_key(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


def _write_new_key(path: Path) -> None:
    """Write a new key so that nodes starting at once all end up with the same one: each
    writes its own file, and only the first link to the final name wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(draft, path)
        logger.warning(
            "made a token signing key at %s: configure APP_AUTH_SIGNING_KEY for production",
            path,
        )
    except FileExistsError:
        pass  # another node made it first: use theirs
    finally:
        draft.unlink()
