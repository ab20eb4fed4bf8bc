"""Stored answers, for every backend: a unit of work answering a request sent with an idempotency
key stores its answer in the transaction of its change, so a second request with that key gets
the answer back and changes nothing. On the tests' own contexts, so this holds in a fork too."""

import asyncio

import pytest

from domain.idempotency import IdempotencyKey, IdempotencyKeyReused
from domain.principals import Principal
from service.idempotency import AnswerReplayed, KeyedRequest, StoredAnswer, now_ms
from service.unit_of_work import UnitsOfWork
from tests.answering import answer_of, answering
from tests.contract.harness import OtherThingsUnitOfWork, ThingsUnitOfWork, Wrote

ALICE, BOB = Principal("alice"), Principal("bob")


class Refused(Exception):
    pass


async def count(uow: ThingsUnitOfWork, n: int, *, refuse: bool = False) -> str:
    """The use case: record `n` in the outbox and answer `counted n` (or fail before its
    commit)."""
    async with uow:
        await uow.outbox.add([Wrote(str(n))])
        if refuse:
            raise Refused(n)
        result = f"counted {n}"
        await uow.commit(result)
    return result


async def counted(units: UnitsOfWork) -> list[int]:
    async with units(ThingsUnitOfWork).read_only() as uow:
        return [int(event.payload["what"]) for event in await uow.outbox.undelivered(1000)]


def keyed(units: UnitsOfWork, who: Principal, key: str, n: int) -> ThingsUnitOfWork:
    return answering(units(ThingsUnitOfWork), who, key, ("count", n))


async def test_a_key_sent_again_with_the_same_request_gets_the_first_answer_and_changes_nothing(
    thing_units: UnitsOfWork,
) -> None:
    first = await count(keyed(thing_units, ALICE, "k1", 1), 1)

    with pytest.raises(AnswerReplayed) as replayed:
        await count(keyed(thing_units, ALICE, "k1", 1), 1)

    assert replayed.value.answer == answer_of(first)
    assert await counted(thing_units) == [1]


async def test_a_key_sent_again_with_another_request_is_refused_and_changes_nothing(
    thing_units: UnitsOfWork,
) -> None:
    await count(keyed(thing_units, ALICE, "k1", 1), 1)

    with pytest.raises(IdempotencyKeyReused):
        await count(keyed(thing_units, ALICE, "k1", 2), 2)

    assert await counted(thing_units) == [1]


async def test_keys_are_each_principal_s_and_each_context_s(thing_units: UnitsOfWork) -> None:
    await count(keyed(thing_units, ALICE, "k1", 1), 1)
    await count(keyed(thing_units, BOB, "k1", 2), 2)
    other = answering(thing_units(OtherThingsUnitOfWork), ALICE, "k1", ("count", 3))
    async with other:
        await other.commit("other")

    assert await counted(thing_units) == [1, 2]


async def test_a_unit_of_work_that_did_not_commit_stored_no_answer(
    thing_units: UnitsOfWork,
) -> None:
    with pytest.raises(Refused):
        await count(keyed(thing_units, ALICE, "k1", 1), 1, refuse=True)

    assert await count(keyed(thing_units, ALICE, "k1", 1), 1) == "counted 1"
    assert await counted(thing_units) == [1]


async def test_writers_that_share_a_commit_each_store_their_own_answer(
    thing_units: UnitsOfWork,
) -> None:
    """On dqlite, concurrent writers share a transaction (group commit), each in a savepoint:
    the one that fails takes only its own change and answer with it."""
    outcomes = await asyncio.gather(
        *(count(keyed(thing_units, ALICE, f"k{n}", n), n, refuse=n == 3) for n in range(8)),
        return_exceptions=True,
    )

    assert [type(o).__name__ if isinstance(o, Exception) else o for o in outcomes] == [
        "Refused" if n == 3 else f"counted {n}" for n in range(8)
    ]
    assert sorted(await counted(thing_units)) == [0, 1, 2, 4, 5, 6, 7]
    async with thing_units(ThingsUnitOfWork).read_only() as uow:
        stored = {n: await uow.answers.get("alice", IdempotencyKey(f"k{n}")) for n in range(8)}
    assert [n for n, answer in stored.items() if answer is None] == [3]


async def test_pruning_forgets_the_answers_stored_before_a_moment_a_batch_at_a_time(
    thing_units: UnitsOfWork,
) -> None:
    old, new = now_ms() - 10_000, now_ms()
    async with thing_units(ThingsUnitOfWork) as uow:
        for n, at in enumerate([old, old, old, new]):
            request = KeyedRequest(ALICE.subject, IdempotencyKey(f"k{n}"), "asked")
            await uow.answers.add(StoredAnswer(request, answer_of(n), at))
        await uow.commit()

    async with thing_units(ThingsUnitOfWork) as uow:
        forgotten = [await uow.answers.prune(old + 1, 2), await uow.answers.prune(old + 1, 2)]
        await uow.commit()

    assert forgotten == [2, 1]
    async with thing_units(ThingsUnitOfWork).read_only() as uow:
        kept = [await uow.answers.get("alice", IdempotencyKey(f"k{n}")) for n in range(4)]
    assert [answer is not None for answer in kept] == [False, False, False, True]
