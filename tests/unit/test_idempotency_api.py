"""Idempotency-Key over HTTP, on the probe's own route (so this holds in a fork): a request sent
again with its key is answered as the first time and changes nothing, whatever lost the first
answer; every unsafe operation of the API documents the header."""

import asyncio
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI

from adapters.memory.store import InMemoryStore, InMemoryUnitOfWork
from domain.errors import Conflict
from service.errors import OutcomeUnknown
from service.retry import RetrySettings
from tests.unit import probe_routes
from tests.unit.probe_routes import ProbeUnitOfWork, new_unit_of_work

UNSAFE = {"post", "put", "patch", "delete"}
# Signing up, in, out and refreshing: no principal yet to scope a key to, or tokens in the
# answer, which are not for storing; a sign-up sent again is told the email is taken.
WITHOUT_KEY = {"/auth/register", "/auth/token", "/auth/refresh", "/auth/logout"}


def stored_counts(app: FastAPI) -> list[int]:
    store: InMemoryStore = app.state.store
    events = store.databases[ProbeUnitOfWork].outbox_events.values()
    return [event.stored.payload["n"] for event in events]


async def send(client: httpx.AsyncClient, key: str | None, n: int) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await client.post("/probe/counts", json={"n": n}, headers=headers)


async def test_a_request_sent_again_with_its_key_gets_the_first_answer_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await send(client, "k-1", 7)
    spaced = b'{ "n" : 7 }'
    headers = {"Idempotency-Key": "k-1", "Content-Type": "application/json"}
    again = await client.post("/probe/counts", content=spaced, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert stored_counts(app) == [7]


async def test_a_key_sent_again_with_another_body_is_a_422_that_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await send(client, "k-1", 7)

    response = await send(client, "k-1", 8)

    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    assert stored_counts(app) == [7]


async def test_twenty_concurrent_requests_with_one_key_apply_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    probe_routes.entered.clear()

    responses = await asyncio.gather(*(send(client, "k-1", 7) for _ in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    assert len({r.content for r in responses if r.status_code == 201}) == 1
    assert probe_routes.entered == [7]
    assert stored_counts(app) == [7]


class RefusesEveryCommit(InMemoryUnitOfWork, ProbeUnitOfWork):
    async def commit(self, result: object = None) -> None:
        raise Conflict("refused at commit")


async def test_a_key_is_let_go_when_its_request_ends_whether_answered_or_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    store: InMemoryStore = app.state.store

    async def refusing() -> ProbeUnitOfWork:
        return RefusesEveryCommit(store, store.databases[ProbeUnitOfWork])

    answered = await send(client, "k-1", 7)
    app.dependency_overrides[new_unit_of_work] = refusing
    refused = await send(client, "k-2", 8)
    del app.dependency_overrides[new_unit_of_work]
    held_after = set(app.state.keys_in_flight)
    again = await send(client, "k-2", 8)

    assert (answered.status_code, refused.status_code, again.status_code) == (201, 409, 201)
    assert held_after == set()
    assert stored_counts(app) == [7, 8]


async def test_a_key_is_its_principal_s_alone(
    app: FastAPI, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    alices = await send(client, "k-1", 7)
    bobs = await send(bob, "k-1", 7)

    assert bobs.headers["Idempotent-Replayed"] == "false"
    assert bobs.json()["counted_at"] != alices.json()["counted_at"]
    assert stored_counts(app) == [7, 7]


@pytest.mark.parametrize(
    "headers",
    [
        [("Idempotency-Key", "")],
        [("Idempotency-Key", "k" * 129)],
        [("Idempotency-Key", "a key")],
        [("Idempotency-Key", "k1"), ("Idempotency-Key", "k2")],
    ],
    ids=["empty", "129-chars", "a-space", "two-headers"],
)
async def test_an_unusable_key_is_a_422_that_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, headers: list[tuple[str, str]]
) -> None:
    response = await client.post("/probe/counts", json={"n": 7}, headers=headers)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert stored_counts(app) == []


async def test_without_a_key_each_request_applies(app: FastAPI, client: httpx.AsyncClient) -> None:
    responses = [await send(client, None, 7) for _ in range(2)]

    assert [r.status_code for r in responses] == [201, 201]
    assert "Idempotent-Replayed" not in responses[0].headers
    assert stored_counts(app) == [7, 7]


class AnswerLostOnce(InMemoryUnitOfWork, ProbeUnitOfWork):
    """Its first commit lands and then loses its answer, as when leadership moves during a
    COMMIT."""

    lost: ClassVar[list[bool]] = []

    async def commit(self, result: object = None) -> None:
        await super().commit(result)
        if not AnswerLostOnce.lost:
            AnswerLostOnce.lost.append(True)
            self._answered = False  # this process never learned that it committed
            raise OutcomeUnknown("the COMMIT's answer was lost")


def first_commit_answers_lost(app: FastAPI) -> None:
    store: InMemoryStore = app.state.store
    store.retry_settings = RetrySettings(budget_seconds=2.0, first_delay=0.01)
    AnswerLostOnce.lost.clear()

    async def losing() -> ProbeUnitOfWork:
        return AnswerLostOnce(store, store.databases[ProbeUnitOfWork])

    app.dependency_overrides[new_unit_of_work] = losing


async def test_a_commit_whose_answer_is_lost_is_retried_and_answered_201_under_a_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first_commit_answers_lost(app)

    response = await send(client, "k-1", 7)

    assert response.status_code == 201
    assert response.json()["n"] == 7
    assert stored_counts(app) == [7]


async def test_a_commit_whose_answer_is_lost_is_a_503_of_unknown_outcome_without_a_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first_commit_answers_lost(app)

    response = await send(client, None, 7)

    assert response.status_code == 503
    assert response.json()["outcome"] == "unknown"
    assert stored_counts(app) == [7]


def test_every_unsafe_operation_documents_the_idempotency_key(app: FastAPI) -> None:
    document: dict[str, Any] = app.openapi()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in UNSAFE and path not in WITHOUT_KEY and not path.startswith("/probe")
        if not any(
            p["in"] == "header" and p["name"] == "Idempotency-Key"
            for p in operation.get("parameters", [])
        )
    ]

    assert missing == []
