"""Identity use cases: register, sign in, refresh, sign out, and the operators' role and
disable commands. Passwords are checked by a port (hashing is slow on purpose, so outside any
transaction); access tokens are signed by another."""

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.errors import InvalidValue, NotFound, Unauthenticated
from domain.fields import Email
from domain.login_attempts import LoginLimit
from domain.people import Password, Person
from domain.principals import Principal
from domain.refresh_tokens import RefreshToken, hash_of
from service.contexts import IdentityUnitOfWork
from service.retry import retried

WRONG_CREDENTIALS = "the email or the password is wrong"
BAD_REFRESH_TOKEN = "the refresh token is unknown, expired, used or revoked"


class AbstractPasswords(abc.ABC):
    """Hashes and checks passwords (slowly: each call is meant to cost tens of ms)."""

    @abc.abstractmethod
    async def hash(self, password: Password) -> str: ...

    @abc.abstractmethod
    async def verify(self, password: Password, password_hash: str) -> tuple[bool, str | None]:
        """Whether it matches, and a new hash when the stored one used older parameters."""

    @abc.abstractmethod
    async def verify_nobody(self, password: Password) -> None:
        """Take as long as a verify, to refuse an unknown email as slowly as a wrong password."""

    @abc.abstractmethod
    def weakness(self, password: Password, hints: Sequence[str]) -> str | None:
        """Why the password is too easy to guess (given words the person is known by), or None."""


class AbstractAccessTokens(abc.ABC):
    lifetime_seconds: int

    @abc.abstractmethod
    def issue(self, principal: Principal) -> str:
        """A signed, short-lived token naming the principal."""


class AbstractTokenVerifier(abc.ABC):
    """Turns a bearer token into the principal it names."""

    @abc.abstractmethod
    async def principal(self, token: str) -> Principal:
        """Raise Unauthenticated unless the token is well formed, signed by a trusted key,
        current, and meant for this service."""


@dataclass(frozen=True)
class Credentials:
    """What the identity use cases need besides the unit of work."""

    passwords: AbstractPasswords
    access_tokens: AbstractAccessTokens
    refresh_lifetime: timedelta = timedelta(days=30)
    login_limit: LoginLimit = field(default_factory=LoginLimit)


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    expires_in: int  # seconds
    refresh_token: str


@retried(idempotent=False)
async def register(
    uow: IdentityUnitOfWork, credentials: Credentials, email: str, password: str
) -> Person:
    address, secret = Email(email), Password(password)
    hints = [address.text, *address.text.replace("@", ".").split(".")]
    if reason := credentials.passwords.weakness(secret, hints):
        raise InvalidValue("password", reason)
    password_hash = await credentials.passwords.hash(secret)
    async with uow:
        person = Person(await uow.people.next_id(), address, password_hash, datetime.now(UTC))
        await uow.people.add(person)
        await uow.commit()
    return person


async def sign_in(
    uow: IdentityUnitOfWork,
    credentials: Credentials,
    email: str,
    password: str,
    client_address: str,
) -> Tokens:
    """Tokens for the right password; every failure counts toward the limits of the email and
    of the client's address, and a limit reached refuses even the right password.

    The attempt is counted as a failure before its password is checked, in the same
    transaction as the check of the limits (and forgotten if it succeeds): attempts sent at
    once, which would all find the count below the limit, cannot buy more guesses than it.
    """
    try:
        address, secret = Email(email), Password(password)
    except InvalidValue:
        address, secret = None, None
    scopes = [f"address:{client_address}"]
    if address is not None:
        scopes.append(f"email:{address.key}")
    attempt = await _count_attempt(uow, credentials.login_limit, scopes)
    person = None if address is None else await _person_by_email(uow, address)
    if person is None or secret is None:
        if secret is not None:
            await credentials.passwords.verify_nobody(secret)
        raise Unauthenticated(WRONG_CREDENTIALS)
    matches, new_hash = await credentials.passwords.verify(secret, person.password_hash)
    if not matches or person.disabled:
        raise Unauthenticated(WRONG_CREDENTIALS)
    return await _tokens_for_sign_in(uow, credentials, person.id, new_hash, attempt)


@retried(idempotent=False)
async def _count_attempt(
    uow: IdentityUnitOfWork, limit: LoginLimit, scopes: list[str]
) -> list[int]:
    """Raise TooManyAttempts if a scope reached its limit; else count this attempt as a failure
    of each scope (until it succeeds), and return what it counted."""
    now_ms = _now_ms()
    async with uow:
        for scope in scopes:
            limit.check(
                scope, await uow.login_failures.since(scope, now_ms - limit.window_ms), now_ms
            )
        counted = [await uow.login_failures.add(scope, now_ms) for scope in scopes]
        await uow.login_failures.prune(now_ms - limit.window_ms)
        await uow.commit()
    return counted


@retried(idempotent=True)
async def _person_by_email(uow: IdentityUnitOfWork, email: Email) -> Person | None:
    async with uow.read_only(snapshot=False):  # one statement
        return await uow.people.get_by_email(email)


@retried(idempotent=False)
async def _tokens_for_sign_in(
    uow: IdentityUnitOfWork,
    credentials: Credentials,
    person_id: int,
    new_hash: str | None,
    attempt: list[int],
) -> Tokens:
    now = datetime.now(UTC)
    async with uow:
        person = await uow.people.get(person_id)
        if person is None or person.disabled:
            raise Unauthenticated(WRONG_CREDENTIALS)
        if new_hash is not None:  # stored with older parameters: upgrade it now
            person.password_hash = new_hash
            await uow.people.update(person)
        await uow.login_failures.forget(attempt)  # it succeeded: no failure
        secret, token = RefreshToken.issue(person.id, now, credentials.refresh_lifetime)
        await uow.refresh_tokens.add(token)
        await uow.refresh_tokens.prune(now)
        await uow.commit()
    return _tokens(credentials, person, secret)


@retried(idempotent=False)
async def refresh(uow: IdentityUnitOfWork, credentials: Credentials, refresh_token: str) -> Tokens:
    """New tokens for a usable refresh token, which is used up; a used one presented again
    revokes its family, so a thief and the victim are both signed out."""
    now = datetime.now(UTC)
    async with uow:
        token = await uow.refresh_tokens.get(hash_of(refresh_token))
        if token is None:
            raise Unauthenticated(BAD_REFRESH_TOKEN)
        if token.used and not token.revoked:
            await uow.refresh_tokens.revoke_family(token.family)
            await uow.commit()
            raise Unauthenticated(BAD_REFRESH_TOKEN)
        person = await uow.people.get(token.person_id)
        if not token.usable(now) or person is None or person.disabled:
            raise Unauthenticated(BAD_REFRESH_TOKEN)
        await uow.refresh_tokens.mark_used(token.token_hash)
        secret, successor = RefreshToken.issue(
            person.id, now, credentials.refresh_lifetime, token.family
        )
        await uow.refresh_tokens.add(successor)
        await uow.commit()
    return _tokens(credentials, person, secret)


@retried(idempotent=True)  # revoking twice revokes the same family
async def sign_out(uow: IdentityUnitOfWork, refresh_token: str) -> None:
    """Revoke the sign-in the refresh token belongs to; an unknown token changes nothing."""
    async with uow:
        token = await uow.refresh_tokens.get(hash_of(refresh_token))
        if token is not None:
            await uow.refresh_tokens.revoke_family(token.family)
            await uow.commit()


@retried(idempotent=True)
async def grant_role(uow: IdentityUnitOfWork, email: str, role: str) -> Person:
    async with uow:
        person = await _existing(uow, Email(email))
        person.grant(role)
        await uow.people.update(person)
        await uow.commit()
    return person


@retried(idempotent=True)
async def revoke_role(uow: IdentityUnitOfWork, email: str, role: str) -> Person:
    async with uow:
        person = await _existing(uow, Email(email))
        person.revoke(role)
        await uow.people.update(person)
        await uow.commit()
    return person


@retried(idempotent=True)
async def set_disabled(uow: IdentityUnitOfWork, email: str, disabled: bool) -> Person:
    """Disable (or enable again) a person: their refresh tokens stop working at once, their
    access tokens when they expire."""
    async with uow:
        person = await _existing(uow, Email(email))
        if disabled:
            person.disable()
            await uow.refresh_tokens.revoke_person(person.id)
        else:
            person.enable()
        await uow.people.update(person)
        await uow.commit()
    return person


async def _existing(uow: IdentityUnitOfWork, email: Email) -> Person:
    person = await uow.people.get_by_email(email)
    if person is None:
        raise NotFound("person with email", email.text)
    return person


def _tokens(credentials: Credentials, person: Person, refresh_secret: str) -> Tokens:
    access = credentials.access_tokens.issue(person.principal())
    return Tokens(access, credentials.access_tokens.lifetime_seconds, refresh_secret)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
