"""The identity use cases on the in-memory store, with real Argon2id (at its cheapest) and
real EdDSA access tokens."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.memory.store import InMemoryStore
from adapters.passwords import Argon2Passwords
from adapters.tokens import Audience, JwtAccessTokens, JwtVerifier, KeyRing
from domain.errors import InvalidValue, NotFound, TooManyAttempts, Unauthenticated
from domain.fields import Email
from domain.people import Password, Person
from domain.principals import Principal
from service import identity
from service.contexts import IdentityUnitOfWork
from service.identity import AbstractPasswords, Credentials, Tokens

PASSWORD = "correct horse battery staple"
EMAIL = "alice@example.org"
AUDIENCE = Audience("https://issuer.test", "https://service.test")
CHEAP = {"time_cost": 1, "memory_kib": 1024, "parallelism": 1}


class SpyPasswords(AbstractPasswords):
    """Real passwords, recording which of them each call made."""

    def __init__(self, inner: AbstractPasswords) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def hash(self, password: Password) -> str:
        self.calls.append("hash")
        return await self.inner.hash(password)

    async def verify(self, password: Password, password_hash: str) -> tuple[bool, str | None]:
        self.calls.append("verify")
        return await self.inner.verify(password, password_hash)

    async def verify_nobody(self, password: Password) -> None:
        self.calls.append("verify_nobody")
        await self.inner.verify_nobody(password)

    def weakness(self, password: Password, hints: Sequence[str]) -> str | None:
        return self.inner.weakness(password, hints)


@pytest.fixture
def uow(store: InMemoryStore) -> IdentityUnitOfWork:
    return store.unit_of_work(IdentityUnitOfWork)


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing.ephemeral()


@pytest.fixture
def spy() -> SpyPasswords:
    return SpyPasswords(Argon2Passwords(**CHEAP))


@pytest.fixture
def credentials(keys: KeyRing, spy: SpyPasswords) -> Credentials:
    return Credentials(spy, JwtAccessTokens(keys, AUDIENCE, 900))


@pytest.fixture
def verifier(keys: KeyRing) -> JwtVerifier:
    return JwtVerifier(keys, AUDIENCE)


async def stored(uow: IdentityUnitOfWork, email: str = EMAIL) -> Person | None:
    async with uow.read_only():
        return await uow.people.get_by_email(Email(email))


async def signed_in(
    uow: IdentityUnitOfWork,
    credentials: Credentials,
    email: str = EMAIL,
    password: str = PASSWORD,
    client: str = "10.0.0.1",
) -> Tokens:
    return await identity.sign_in(uow, credentials, email, password, client)


# Registering


@pytest.mark.parametrize("weak", ["password123", "qwertyuiop", "alice@example.org", "alice2024!"])
async def test_register_refuses_a_password_easy_to_guess_and_stores_nobody(
    uow: IdentityUnitOfWork, credentials: Credentials, weak: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        await identity.register(uow, credentials, EMAIL, weak)

    assert refused.value.field == "password"
    assert "guess" in refused.value.reason
    assert weak not in str(refused.value)
    assert await stored(uow) is None


@pytest.mark.parametrize("length", [0, 1, 7, 129, 10_000])
async def test_register_refuses_a_password_shorter_than_8_or_longer_than_128(
    uow: IdentityUnitOfWork, credentials: Credentials, length: int
) -> None:
    with pytest.raises(InvalidValue) as refused:
        await identity.register(uow, credentials, EMAIL, (PASSWORD * 400)[:length])

    assert refused.value.field == "password"
    assert "8 to 128 characters" in refused.value.reason
    assert await stored(uow) is None


async def test_register_takes_a_strong_password_of_128_characters(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    longest = (PASSWORD + " ") * 5
    longest = longest[:128]

    person = await identity.register(uow, credentials, EMAIL, longest)

    assert await stored(uow) == person
    assert (await signed_in(uow, credentials, password=longest)).access_token


@pytest.mark.parametrize("weird", ["correct horse\x00battery", "correct horse \ud800 battery"])
async def test_register_refuses_a_password_no_hasher_can_take(
    uow: IdentityUnitOfWork, credentials: Credentials, weird: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        await identity.register(uow, credentials, EMAIL, weird)

    assert refused.value.field == "password"
    assert await stored(uow) is None


async def test_register_stores_an_argon2id_hash_never_the_password(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    person = await identity.register(uow, credentials, "Alice@Example.org", PASSWORD)

    found = await stored(uow, "ALICE@example.org")
    assert found == person
    assert person.email.text == "Alice@Example.org"
    assert person.password_hash.startswith("$argon2id$")
    assert PASSWORD not in person.password_hash
    assert (person.roles, person.disabled) == (frozenset(), False)


# Signing in


async def test_sign_in_issues_an_access_token_naming_the_person_and_a_refresh_token(
    uow: IdentityUnitOfWork, credentials: Credentials, verifier: JwtVerifier
) -> None:
    person = await identity.register(uow, credentials, EMAIL, PASSWORD)

    tokens = await signed_in(uow, credentials, email="ALICE@EXAMPLE.ORG")

    assert await verifier.principal(tokens.access_token) == Principal(str(person.id))
    assert tokens.expires_in == 900
    assert len(tokens.refresh_token) >= 43  # 256 random bits, url-safe base64


async def test_a_wrong_password_is_refused_after_a_real_verify(
    uow: IdentityUnitOfWork, credentials: Credentials, spy: SpyPasswords
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    spy.calls.clear()

    with pytest.raises(Unauthenticated, match="the email or the password is wrong"):
        await signed_in(uow, credentials, password="correct horse battery stapler")

    assert spy.calls == ["verify"]


async def test_an_unknown_email_is_refused_alike_after_a_dummy_verify(
    uow: IdentityUnitOfWork, credentials: Credentials, spy: SpyPasswords
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    spy.calls.clear()

    with pytest.raises(Unauthenticated) as unknown:
        await signed_in(uow, credentials, email="mallory@example.org")
    with pytest.raises(Unauthenticated) as wrong:
        await signed_in(uow, credentials, password="not the right password")

    assert spy.calls == ["verify_nobody", "verify"]  # as slow as a wrong password
    assert unknown.value.detail == wrong.value.detail  # and told apart by nothing


async def test_a_hash_made_with_older_parameters_is_rehashed_on_a_successful_sign_in(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    old = await stored(uow)
    assert old is not None
    assert ",t=1," in old.password_hash
    stronger = replace(credentials, passwords=Argon2Passwords(**{**CHEAP, "time_cost": 2}))

    await signed_in(uow, stronger)

    new = await stored(uow)
    assert new is not None
    assert new.password_hash != old.password_hash
    assert ",t=2," in new.password_hash
    await signed_in(uow, stronger)  # the new hash verifies, and is current: kept
    assert await stored(uow) == new


async def test_a_wrong_password_never_rehashes(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    old = await stored(uow)
    stronger = replace(credentials, passwords=Argon2Passwords(**{**CHEAP, "time_cost": 2}))

    with pytest.raises(Unauthenticated):
        await signed_in(uow, stronger, password="not the right password")

    assert await stored(uow) == old


# Refreshing and signing out


async def test_a_refresh_token_is_used_up_and_gives_new_tokens(
    uow: IdentityUnitOfWork, credentials: Credentials, verifier: JwtVerifier
) -> None:
    person = await identity.register(uow, credentials, EMAIL, PASSWORD)
    first = await signed_in(uow, credentials)

    second = await identity.refresh(uow, credentials, first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert await verifier.principal(second.access_token) == person.principal()
    third = await identity.refresh(uow, credentials, second.refresh_token)  # rotates on
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_a_used_refresh_token_presented_again_revokes_its_whole_family(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    stolen = await signed_in(uow, credentials)
    other_device = await signed_in(uow, credentials)
    newest = await identity.refresh(uow, credentials, stolen.refresh_token)

    with pytest.raises(Unauthenticated, match="used or revoked"):
        await identity.refresh(uow, credentials, stolen.refresh_token)
    with pytest.raises(Unauthenticated):  # the thief's (or the victim's) newest one too
        await identity.refresh(uow, credentials, newest.refresh_token)
    with pytest.raises(Unauthenticated):  # and stays so
        await identity.refresh(uow, credentials, stolen.refresh_token)

    assert await identity.refresh(uow, credentials, other_device.refresh_token)  # not its family


@pytest.mark.parametrize("presented", ["", "garbage", "x" * 43, "\ud800"])
async def test_an_unknown_refresh_token_is_refused(
    uow: IdentityUnitOfWork, credentials: Credentials, presented: str
) -> None:
    with pytest.raises(Unauthenticated):
        await identity.refresh(uow, credentials, presented)


async def test_an_expired_refresh_token_is_refused(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    short = replace(credentials, refresh_lifetime=timedelta(microseconds=1))
    tokens = await signed_in(uow, short)

    with pytest.raises(Unauthenticated):
        await identity.refresh(uow, credentials, tokens.refresh_token)


async def test_sign_out_revokes_the_family_and_no_other_sign_in(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    first = await signed_in(uow, credentials)
    later = await identity.refresh(uow, credentials, first.refresh_token)
    other_device = await signed_in(uow, credentials)

    await identity.sign_out(uow, first.refresh_token)  # an older token of the family will do

    with pytest.raises(Unauthenticated):
        await identity.refresh(uow, credentials, later.refresh_token)
    assert await identity.refresh(uow, credentials, other_device.refresh_token)
    await identity.sign_out(uow, "never issued")  # changes nothing, says nothing


# The operators' commands


async def test_a_disabled_person_cannot_refresh_at_once_nor_sign_in(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    tokens = await signed_in(uow, credentials)

    disabled = await identity.set_disabled(uow, "Alice@example.org", True)

    assert disabled.disabled
    with pytest.raises(Unauthenticated):
        await identity.refresh(uow, credentials, tokens.refresh_token)
    with pytest.raises(Unauthenticated, match="the email or the password is wrong"):
        await signed_in(uow, credentials)

    await identity.set_disabled(uow, EMAIL, False)
    again = await signed_in(uow, credentials)
    with pytest.raises(Unauthenticated):  # revoked, not merely paused
        await identity.refresh(uow, credentials, tokens.refresh_token)
    assert await identity.refresh(uow, credentials, again.refresh_token)


async def test_grant_role_puts_admin_in_the_next_tokens_roles_and_revoke_takes_it_out(
    uow: IdentityUnitOfWork, credentials: Credentials, verifier: JwtVerifier
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    before = await signed_in(uow, credentials)
    assert (await verifier.principal(before.access_token)).roles == frozenset()

    granted = await identity.grant_role(uow, "ALICE@example.org", "admin")

    assert granted.roles == frozenset({"admin"})
    signed = await signed_in(uow, credentials)
    assert (await verifier.principal(signed.access_token)).is_admin
    refreshed = await identity.refresh(uow, credentials, before.refresh_token)
    assert (await verifier.principal(refreshed.access_token)).is_admin

    await identity.revoke_role(uow, EMAIL, "admin")
    after = await signed_in(uow, credentials)
    assert (await verifier.principal(after.access_token)).roles == frozenset()


async def test_the_commands_refuse_an_unknown_role_or_person(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)

    with pytest.raises(InvalidValue, match="role"):
        await identity.grant_role(uow, EMAIL, "superuser")
    with pytest.raises(NotFound):
        await identity.grant_role(uow, "nobody@example.org", "admin")
    with pytest.raises(NotFound):
        await identity.set_disabled(uow, "nobody@example.org", True)
    found = await stored(uow)
    assert found is not None
    assert found.roles == frozenset()


# Limits


async def test_the_11th_failed_sign_in_for_an_email_is_refused_even_with_the_right_password(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    await identity.register(uow, credentials, "bob@example.org", PASSWORD)
    for attempt in range(10):  # each from another address: only the email's count reaches 10
        with pytest.raises(Unauthenticated):
            await signed_in(
                uow, credentials, password="wrong password!", client=f"10.1.0.{attempt}"
            )

    with pytest.raises(TooManyAttempts) as limited:
        await signed_in(uow, credentials, email="ALICE@example.org", client="10.2.0.1")

    assert 1 <= limited.value.retry_after_seconds <= 60
    assert "email" in limited.value.detail
    assert await signed_in(uow, credentials, email="bob@example.org", client="10.1.0.1")


async def test_the_11th_failed_sign_in_from_an_address_is_refused_even_with_the_right_password(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    for attempt in range(10):  # each for another email: only the address's count reaches 10
        with pytest.raises(Unauthenticated):
            await signed_in(uow, credentials, email=f"nobody{attempt}@example.org", client="::1")

    with pytest.raises(TooManyAttempts) as limited:
        await signed_in(uow, credentials, client="::1")

    assert 1 <= limited.value.retry_after_seconds <= 60
    assert "address" in limited.value.detail
    assert await signed_in(uow, credentials, client="::2")


async def test_malformed_attempts_count_toward_the_address(
    uow: IdentityUnitOfWork, credentials: Credentials
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    for malformed in ["not an email", "a@b", "", "short", "x" * 129] * 2:
        with pytest.raises(Unauthenticated):
            await signed_in(uow, credentials, email=malformed, password=malformed or "short")

    with pytest.raises(TooManyAttempts):
        await signed_in(uow, credentials)


async def test_ten_failures_do_not_limit_and_the_limit_lifts_once_the_window_passes(
    uow: IdentityUnitOfWork, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    await identity.register(uow, credentials, EMAIL, PASSWORD)
    for _ in range(9):
        with pytest.raises(Unauthenticated):
            await signed_in(uow, credentials, password="wrong password!")
    assert await signed_in(uow, credentials)  # the 10th attempt, right: let in
    with pytest.raises(Unauthenticated):
        await signed_in(uow, credentials, password="wrong password!")  # the 10th failure
    with pytest.raises(TooManyAttempts):
        await signed_in(uow, credentials)

    now_ms = identity._now_ms
    monkeypatch.setattr(identity, "_now_ms", lambda: now_ms() + 61_000)

    assert await signed_in(uow, credentials)


# Secrecy


async def test_the_password_is_in_no_repr_and_no_log_record(
    uow: IdentityUnitOfWork, credentials: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "ultra secret passphrase 4711"
    caplog.set_level(logging.DEBUG)

    person = await identity.register(uow, credentials, EMAIL, secret)
    await signed_in(uow, credentials, password=secret)
    with pytest.raises(Unauthenticated):
        await signed_in(uow, credentials, password=secret + "!")
    with pytest.raises(Unauthenticated):
        await signed_in(uow, credentials, email="nobody@example.org", password=secret)
    with pytest.raises(InvalidValue) as weak:
        await identity.register(uow, credentials, "bob@example.org", "password123")

    assert secret not in repr(Password(secret))
    assert secret not in repr(person)
    assert person.password_hash not in repr(person)
    assert "password123" not in repr(weak.value)
    for record in caplog.records:
        logged = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        assert secret not in logged
        assert person.password_hash not in logged


async def test_a_burst_of_concurrent_attempts_gets_no_more_guesses_than_the_limit(
    store: InMemoryStore, credentials: Credentials, spy: SpyPasswords
) -> None:
    """Each attempt is counted before its password is checked: a burst sent at once, every
    attempt of which would find no failure yet, cannot buy more guesses than the limit."""
    await identity.register(store.unit_of_work(IdentityUnitOfWork), credentials, EMAIL, PASSWORD)
    spy.calls.clear()

    answers = await asyncio.gather(
        *(
            signed_in(
                store.unit_of_work(IdentityUnitOfWork),
                credentials,
                password=f"wrong guess number {n}",
                client=f"10.3.0.{n}",
            )
            for n in range(30)
        ),
        return_exceptions=True,
    )

    assert spy.calls.count("verify") == 10
    assert sorted(type(answer).__name__ for answer in answers) == (
        ["TooManyAttempts"] * 20 + ["Unauthenticated"] * 10
    )
