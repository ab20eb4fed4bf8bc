"""The identity context's repositories (people, refresh tokens, failed sign-ins), run on
every backend, plus a state machine of refresh tokens against a plain dict."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from domain.errors import AlreadyExists
from domain.fields import Email
from domain.login_attempts import SCOPE_MAX_LENGTH
from domain.people import Person
from domain.refresh_tokens import RefreshToken, hash_of
from service.contexts import IdentityUnitOfWork
from service.unit_of_work import UnitsOfWork
from tests.contract.backends import Backend
from tests.contract.harness import WRITTEN_AT, AggregateProbe, BackendMachine, run_machine

HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def person(
    id: int,
    email: str,
    *,
    password_hash: str | None = None,
    roles: frozenset[str] = frozenset(),
    disabled: bool = False,
) -> Person:
    hashed = f"{HASH}-{id}" if password_hash is None else password_hash
    return Person(id, Email(email), hashed, WRITTEN_AT, roles, disabled)


def token(
    n: int,
    family: str = "f" * 32,
    person_id: int = 1,
    *,
    expires_at: datetime = WRITTEN_AT + timedelta(days=30),
    used: bool = False,
    revoked: bool = False,
) -> RefreshToken:
    """The n-th token (its secret is `secret n`), issued at WRITTEN_AT."""
    secret_hash = hash_of(f"secret {n}")
    return RefreshToken(secret_hash, family, person_id, WRITTEN_AT, expires_at, used, revoked)


async def add_people(units: UnitsOfWork, *people: Person) -> None:
    async with units(IdentityUnitOfWork) as uow:
        for each in people:
            await uow.people.add(each)
        await uow.commit()


async def add_tokens(units: UnitsOfWork, *tokens: RefreshToken) -> None:
    async with units(IdentityUnitOfWork) as uow:
        for each in tokens:
            await uow.refresh_tokens.add(each)
        await uow.commit()


async def tokens_of(units: UnitsOfWork, *tokens: RefreshToken) -> list[RefreshToken | None]:
    async with units(IdentityUnitOfWork).read_only() as uow:
        return [await uow.refresh_tokens.get(each.token_hash) for each in tokens]


async def failures_since(units: UnitsOfWork, scope: str, since_ms: int) -> list[int]:
    async with units(IdentityUnitOfWork).read_only() as uow:
        return sorted(await uow.login_failures.since(scope, since_ms))


# The unit-of-work contract's probes (tests/contract/aggregates.py).
PEOPLE = AggregateProbe[Person, IdentityUnitOfWork](
    name="people",
    context=IdentityUnitOfWork,
    sample=lambda n: person(n, f"person{n}@example.org"),
    add=lambda uow, each: uow.people.add(each),
    get=lambda uow, each: uow.people.get(each.id),
)

REFRESH_TOKENS = AggregateProbe[RefreshToken, IdentityUnitOfWork](
    name="refresh_tokens",
    context=IdentityUnitOfWork,
    sample=lambda n: token(n, family=f"{n:032x}", person_id=n),
    add=lambda uow, each: uow.refresh_tokens.add(each),
    get=lambda uow, each: uow.refresh_tokens.get(each.token_hash),
)

type Failure = tuple[str, int]  # scope, at_ms


async def _failure_if_stored(uow: IdentityUnitOfWork, failure: Failure) -> Failure | None:
    scope, at_ms = failure
    return failure if at_ms in await uow.login_failures.since(scope, at_ms - 1) else None


async def _add_failure(uow: IdentityUnitOfWork, failure: Failure) -> None:
    await uow.login_failures.add(*failure)


LOGIN_FAILURES = AggregateProbe[Failure, IdentityUnitOfWork](
    name="login_failures",
    context=IdentityUnitOfWork,
    sample=lambda n: (f"email:person{n}@example.org", 1_767_225_600_000 + n),
    add=_add_failure,
    get=_failure_if_stored,
)


# People


async def test_a_person_reads_back_exactly_as_added_by_id_and_by_email(
    units: UnitsOfWork,
) -> None:
    admin = person(1, "Ann@Example.org", roles=frozenset({"admin"}), disabled=True)
    plain = person(2, "bob@example.org")
    await add_people(units, admin, plain)

    async with units(IdentityUnitOfWork).read_only() as uow:
        assert await uow.people.get(1) == admin
        assert await uow.people.get(2) == plain
        assert await uow.people.get(3) is None
        assert await uow.people.get_by_email(Email("Ann@Example.org")) == admin
        assert await uow.people.get_by_email(Email("nobody@example.org")) is None


async def test_next_id_follows_the_largest_stored_id(units: UnitsOfWork) -> None:
    async with units(IdentityUnitOfWork) as uow:
        assert await uow.people.next_id() == 1
        await uow.people.add(person(7, "seven@example.org"))
        assert await uow.people.next_id() == 8
        await uow.commit()


@pytest.mark.parametrize(
    "spelling", ["straße@example.org", "STRASSE@EXAMPLE.ORG", "Stra\u00dfe@Example.Org"]
)
async def test_get_by_email_finds_the_person_in_any_letter_case(
    units: UnitsOfWork, spelling: str
) -> None:
    stored = person(1, "Strasse@example.org")
    await add_people(units, stored)

    async with units(IdentityUnitOfWork).read_only() as uow:
        assert await uow.people.get_by_email(Email(spelling)) == stored


@pytest.mark.parametrize("twin", ["ANN@EXAMPLE.ORG", "ann@example.org", "aNn@eXample.ORG"])
async def test_an_email_taken_in_any_letter_case_already_exists_and_keeps_the_first(
    units: UnitsOfWork, twin: str
) -> None:
    first = person(1, "Ann@Example.org")
    await add_people(units, first)

    with pytest.raises(AlreadyExists):
        await add_people(units, person(2, twin))
    with pytest.raises(AlreadyExists):  # two of them in one unit of work
        await add_people(units, person(3, "new@example.org"), person(4, "NEW@example.org"))

    async with units(IdentityUnitOfWork).read_only() as uow:
        assert await uow.people.get_by_email(Email(twin)) == first
        assert [await uow.people.get(id) for id in (2, 3, 4)] == [None, None, None]


async def test_an_update_stores_the_new_hash_roles_and_disabled_flag(units: UnitsOfWork) -> None:
    await add_people(units, person(1, "ann@example.org"), person(2, "bob@example.org"))

    async with units(IdentityUnitOfWork) as uow:
        ann = await uow.people.get_by_email(Email("ANN@example.org"))
        assert ann is not None
        ann.password_hash = f"{HASH}-rehashed"
        ann.grant("admin")
        ann.disable()
        await uow.people.update(ann)
        await uow.commit()

    async with units(IdentityUnitOfWork).read_only() as uow:
        assert await uow.people.get(1) == person(
            1,
            "ann@example.org",
            password_hash=f"{HASH}-rehashed",
            roles=frozenset({"admin"}),
            disabled=True,
        )
        assert await uow.people.get(2) == person(2, "bob@example.org")  # untouched

    async with units(IdentityUnitOfWork) as uow:  # and back
        ann = await uow.people.get(1)
        assert ann is not None
        ann.revoke("admin")
        ann.enable()
        await uow.people.update(ann)
        await uow.commit()

    async with units(IdentityUnitOfWork).read_only() as uow:
        found = await uow.people.get(1)
        assert found is not None
        assert (found.roles, found.disabled) == (frozenset(), False)


async def test_a_person_changed_but_not_updated_is_not_stored(units: UnitsOfWork) -> None:
    await add_people(units, person(1, "ann@example.org"))
    async with units(IdentityUnitOfWork) as uow:
        ann = await uow.people.get(1)
        assert ann is not None
        ann.disable()
        await uow.commit()

    async with units(IdentityUnitOfWork).read_only() as uow:
        assert await uow.people.get(1) == person(1, "ann@example.org")


# Refresh tokens


async def test_a_refresh_token_reads_back_exactly_as_added(units: UnitsOfWork) -> None:
    fresh = token(1)
    used = token(2, person_id=2, used=True)
    revoked = token(3, family="0" * 32, person_id=3, revoked=True)
    await add_tokens(units, fresh, used, revoked)

    assert await tokens_of(units, fresh, used, revoked, token(4)) == [fresh, used, revoked, None]


async def test_a_refresh_token_hash_added_twice_already_exists(units: UnitsOfWork) -> None:
    await add_tokens(units, token(1))

    with pytest.raises(AlreadyExists):
        await add_tokens(units, token(1, family="a" * 32, person_id=2))

    assert await tokens_of(units, token(1)) == [token(1)]


async def test_mark_used_uses_up_that_token_only(units: UnitsOfWork) -> None:
    await add_tokens(units, token(1), token(2))

    async with units(IdentityUnitOfWork) as uow:
        await uow.refresh_tokens.mark_used(token(1).token_hash)
        await uow.refresh_tokens.mark_used(hash_of("unknown"))  # changes nothing
        await uow.commit()

    assert await tokens_of(units, token(1), token(2)) == [token(1, used=True), token(2)]


async def test_revoke_family_revokes_every_token_of_the_family_and_no_other(
    units: UnitsOfWork,
) -> None:
    family, other = "a" * 32, "b" * 32
    mine = [token(1, family, used=True), token(2, family)]
    theirs = token(3, other)  # same person, another sign-in
    await add_tokens(units, *mine, theirs)

    async with units(IdentityUnitOfWork) as uow:
        await uow.refresh_tokens.revoke_family(family)
        await uow.commit()

    assert await tokens_of(units, *mine, theirs) == [
        token(1, family, used=True, revoked=True),
        token(2, family, revoked=True),
        theirs,
    ]


async def test_revoke_person_revokes_every_family_of_the_person_and_no_one_else(
    units: UnitsOfWork,
) -> None:
    anns = [token(1, "a" * 32, person_id=1), token(2, "b" * 32, person_id=1)]
    bobs = token(3, "c" * 32, person_id=2)
    await add_tokens(units, *anns, bobs)

    async with units(IdentityUnitOfWork) as uow:
        await uow.refresh_tokens.revoke_person(1)
        await uow.commit()

    assert await tokens_of(units, *anns, bobs) == [
        replace(anns[0], revoked=True),
        replace(anns[1], revoked=True),
        bobs,
    ]


async def test_prune_forgets_the_tokens_expired_before_the_moment_whatever_their_offset(
    units: UnitsOfWork,
) -> None:
    bound = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    # 13:30 at +02:00 is 11:30 UTC: expired, though its wall clock reads later than the bound.
    expired_east = token(1, expires_at=datetime(2026, 3, 1, 13, 30, tzinfo=plus_two))
    expired = token(2, expires_at=bound - timedelta(microseconds=1))
    at_the_bound = token(3, expires_at=bound)
    # 10:30 at -02:00 is 12:30 UTC: still current, though its wall clock reads earlier.
    current_west = token(
        4, expires_at=datetime(2026, 3, 1, 10, 30, tzinfo=timezone(-timedelta(hours=2)))
    )
    later = token(5, expires_at=bound + timedelta(days=1))
    await add_tokens(units, expired_east, expired, at_the_bound, current_west, later)

    async with units(IdentityUnitOfWork) as uow:
        await uow.refresh_tokens.prune(bound)
        await uow.commit()

    assert await tokens_of(units, expired_east, expired, at_the_bound, current_west, later) == [
        None,
        None,
        at_the_bound,
        current_west,
        later,
    ]


# Failed sign-ins


async def test_since_returns_the_failures_of_the_scope_after_the_moment_only(
    units: UnitsOfWork,
) -> None:
    async with units(IdentityUnitOfWork) as uow:
        for at_ms in (1_000, 2_000, 2_000, 3_000):
            await uow.login_failures.add("email:ann@example.org", at_ms)
        await uow.login_failures.add("email:ANN@example.org", 2_500)  # scopes are exact
        await uow.login_failures.add("address:10.0.0.1", 2_500)
        await uow.commit()

    assert await failures_since(units, "email:ann@example.org", 0) == [1_000, 2_000, 2_000, 3_000]
    assert await failures_since(units, "email:ann@example.org", 1_000) == [2_000, 2_000, 3_000]
    assert await failures_since(units, "email:ann@example.org", 3_000) == []
    assert await failures_since(units, "address:10.0.0.1", 0) == [2_500]
    assert await failures_since(units, "address:10.0.0.2", 0) == []


async def test_a_scope_longer_than_the_column_is_cut_alike_when_added_and_asked(
    units: UnitsOfWork,
) -> None:
    long_scope = "email:" + "é" * SCOPE_MAX_LENGTH
    async with units(IdentityUnitOfWork) as uow:
        await uow.login_failures.add(long_scope, 5_000)
        await uow.commit()

    assert await failures_since(units, long_scope, 0) == [5_000]
    assert await failures_since(units, long_scope[:SCOPE_MAX_LENGTH], 0) == [5_000]


async def test_prune_forgets_every_failure_older_than_the_moment_in_every_scope(
    units: UnitsOfWork,
) -> None:
    async with units(IdentityUnitOfWork) as uow:
        for scope in ("email:ann@example.org", "address:10.0.0.1"):
            for at_ms in (1_000, 1_999, 2_000, 2_001):
                await uow.login_failures.add(scope, at_ms)
        await uow.commit()

    async with units(IdentityUnitOfWork) as uow:
        await uow.login_failures.prune(2_000)
        await uow.commit()

    for scope in ("email:ann@example.org", "address:10.0.0.1"):
        assert await failures_since(units, scope, 0) == [2_000, 2_001]


async def test_forget_forgets_the_failures_add_counted_and_no_other(units: UnitsOfWork) -> None:
    async with units(IdentityUnitOfWork) as uow:
        kept = await uow.login_failures.add("address:10.0.0.1", 1_000)
        attempt = [
            await uow.login_failures.add("address:10.0.0.1", 2_000),
            await uow.login_failures.add("email:ann@example.org", 2_000),
        ]
        also_kept = await uow.login_failures.add("email:ann@example.org", 2_000)
        await uow.commit()
    assert len({kept, *attempt, also_kept}) == 4

    async with units(IdentityUnitOfWork) as uow:
        await uow.login_failures.forget(attempt)
        await uow.login_failures.forget([])
        await uow.login_failures.forget([max(kept, *attempt, also_kept) + 1])  # none such
        await uow.commit()

    assert await failures_since(units, "address:10.0.0.1", 0) == [1_000]
    assert await failures_since(units, "email:ann@example.org", 0) == [2_000]


async def test_failures_added_after_a_prune_get_ids_of_their_own(units: UnitsOfWork) -> None:
    async with units(IdentityUnitOfWork) as uow:
        await uow.login_failures.add("address:10.0.0.1", 1_000)
        await uow.login_failures.add("address:10.0.0.1", 2_000)
        await uow.login_failures.prune(1_500)
        await uow.login_failures.add("address:10.0.0.1", 3_000)
        await uow.login_failures.add("address:10.0.0.1", 3_000)
        await uow.commit()

    assert await failures_since(units, "address:10.0.0.1", 0) == [2_000, 3_000, 3_000]


# Refresh tokens under random operations

token_numbers = st.integers(0, 7)
families = st.sampled_from(["a" * 32, "b" * 32, "c" * 32])
person_ids = st.integers(1, 3)
day = st.integers(0, 40)
START = datetime(2026, 1, 1, tzinfo=UTC)


class RefreshTokenMachine(BackendMachine):
    """Random add/mark_used/revoke/prune sequences, checked against a plain dict."""

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, RefreshToken] = {}

    def _change(self, action: str, argument: object) -> None:
        async def change() -> None:
            async with self.units(IdentityUnitOfWork) as uow:
                await getattr(uow.refresh_tokens, action)(argument)
                await uow.commit()

        self.run(change())

    @rule(n=token_numbers, family=families, person_id=person_ids, expires_in_days=day)
    def add(self, n: int, family: str, person_id: int, expires_in_days: int) -> None:
        new = token(n, family, person_id, expires_at=START + timedelta(days=expires_in_days))
        try:
            self.run(add_tokens(self.units, new))
        except AlreadyExists:
            assert new.token_hash in self.model
        else:
            assert new.token_hash not in self.model
            self.model[new.token_hash] = new

    @rule(n=token_numbers)
    def mark_used(self, n: int) -> None:
        hashed = hash_of(f"secret {n}")
        self._change("mark_used", hashed)
        if hashed in self.model:
            self.model[hashed].used = True

    @rule(family=families)
    def revoke_family(self, family: str) -> None:
        self._change("revoke_family", family)
        for each in self.model.values():
            each.revoked = each.revoked or each.family == family

    @rule(person_id=person_ids)
    def revoke_person(self, person_id: int) -> None:
        self._change("revoke_person", person_id)
        for each in self.model.values():
            each.revoked = each.revoked or each.person_id == person_id

    @rule(days=day)
    def prune(self, days: int) -> None:
        bound = START + timedelta(days=days)
        self._change("prune", bound)
        self.model = {k: v for k, v in self.model.items() if not v.expires_at < bound}

    @rule(n=token_numbers)
    def get(self, n: int) -> None:
        hashed = hash_of(f"secret {n}")

        async def read() -> RefreshToken | None:
            async with self.units(IdentityUnitOfWork).read_only() as uow:
                return await uow.refresh_tokens.get(hashed)

        assert self.run(read()) == self.model.get(hashed)


def test_refresh_tokens_behave_like_a_plain_dict_under_random_operations(
    backend: Backend,
) -> None:
    run_machine(RefreshTokenMachine, backend)
