"""Refresh tokens of the identity context: opaque secrets kept only as hashes, rotated on each
use. Every token descends from one sign-in (its family); a used token presented again means it
was stolen, and revokes the whole family."""

import abc
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.fields import check_id, check_moment

TOKEN_HASH_LENGTH = 64  # hex of a SHA-256
FAMILY_LENGTH = 32


def hash_of(secret: str) -> str:
    """A fast hash suffices: the secret is 256 random bits, not a password to guess."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class RefreshToken:
    token_hash: str
    family: str
    person_id: int
    issued_at: datetime
    expires_at: datetime
    used: bool = False
    revoked: bool = False

    def __post_init__(self) -> None:
        check_id("person_id", self.person_id)
        check_moment("issued_at", self.issued_at)
        check_moment("expires_at", self.expires_at)

    @classmethod
    def issue(
        cls, person_id: int, now: datetime, lifetime: timedelta, family: str | None = None
    ) -> tuple[str, "RefreshToken"]:
        """A new secret for the client, and the token to store (its hash)."""
        secret = secrets.token_urlsafe(32)
        family = family or secrets.token_hex(FAMILY_LENGTH // 2)
        return secret, cls(hash_of(secret), family, person_id, now, now + lifetime)

    def usable(self, now: datetime) -> bool:
        return not self.used and not self.revoked and now < self.expires_at


class AbstractRefreshTokenRepository(abc.ABC):
    @abc.abstractmethod
    async def add(self, token: RefreshToken) -> None: ...

    @abc.abstractmethod
    async def get(self, token_hash: str) -> RefreshToken | None: ...

    @abc.abstractmethod
    async def mark_used(self, token_hash: str) -> None: ...

    @abc.abstractmethod
    async def revoke_family(self, family: str) -> None: ...

    @abc.abstractmethod
    async def revoke_person(self, person_id: int) -> None:
        """Revoke every token of the person: they must sign in again."""

    @abc.abstractmethod
    async def prune(self, expired_before: datetime) -> None:
        """Forget tokens that expired before this moment (they can refresh nothing)."""
