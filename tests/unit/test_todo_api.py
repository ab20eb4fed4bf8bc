"""The /todos API on the in-memory container: statuses, bodies, nothing lost on bad input, and
each signed-in principal's own todos (`client` is alice, `bob` another person)."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.contexts import TodosUnitOfWork
from service.operations import Store
from service.unit_of_work import AbstractUnitOfWork

PROBLEM = "application/problem+json"


async def snapshot(client: httpx.AsyncClient) -> Any:
    response = await client.get("/todos", params={"limit": 1000})
    assert response.status_code == 200
    return response.json()


async def subject_of(client: httpx.AsyncClient) -> str:
    subject: str = (await client.get("/auth/me")).json()["subject"]
    return subject


async def test_a_posted_todo_is_returned_by_its_location(client: httpx.AsyncClient) -> None:
    created = await client.post("/todos", json={"key": "shop/milk", "value": "2 l"})

    assert created.status_code == 201
    owner = await subject_of(client)
    assert created.json() == {"owner": owner, "key": "shop/milk", "value": "2 l", "done": False}
    fetched = await client.get(created.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


async def test_a_todo_can_be_marked_done_changed_and_deleted(client: httpx.AsyncClient) -> None:
    await client.post("/todos", json={"key": "k"})

    patched = await client.patch("/todos/k", json={"done": True, "value": "new"})
    assert patched.json() == {
        "owner": await subject_of(client),
        "key": "k",
        "value": "new",
        "done": True,
    }
    assert (await client.delete("/todos/k")).status_code == 204
    assert (await client.get("/todos/k")).status_code == 404


async def test_the_list_takes_its_query_object_from_query_parameters(
    client: httpx.AsyncClient,
) -> None:
    for key in ["a1", "a2", "b1", "a3"]:
        await client.post("/todos", json={"key": key, "value": key.upper()})
    await client.patch("/todos/a3", json={"done": True})

    response = await client.get(
        "/todos", params={"key_contains": "a", "value_contains": "A", "done": "false", "limit": 1}
    )

    owner = await subject_of(client)
    item = {"owner": owner, "key": "a1", "value": "A1", "done": False}
    assert response.json() == {"items": [item], "total": 2}


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "detail"),
    [
        ("post", "/todos", {"key": "k" * 129}, 422, "body.key"),
        ("post", "/todos", {"key": 5}, 422, "body.key"),
        ("post", "/todos", {"key": "k", "value": None}, 422, "body.value"),
        ("post", "/todos", {"key": "k", "extra": 1}, 422, "body.extra"),
        ("post", "/todos", {"key": "nul\u0000"}, 422, "NUL"),
        ("post", "/todos", {"key": "existing", "value": "other"}, 409, "already exists"),
        ("patch", "/todos/existing", {"done": "yes"}, 422, "body.done"),
        ("patch", "/todos/existing", {"value": "v" * 129}, 422, "body.value"),
        ("patch", "/todos/unknown", {"done": True}, 404, "'unknown' does not exist"),
        ("get", "/todos/unknown", None, 404, "'unknown' does not exist"),
        ("get", "/todos/" + "k" * 129, None, 422, "key"),
        ("delete", "/todos/unknown", None, 404, "does not exist"),
        ("get", "/todos?limit=0", None, 422, "query.limit"),
        ("get", "/todos?limit=5000", None, 422, "query.limit"),
        ("get", "/todos?offset=-1", None, 422, "query.offset"),
        ("get", "/todos?done=maybe", None, 422, "query.done"),
        ("get", "/todos?colour=red", None, 422, "query.colour"),
        ("get", "/nowhere", None, 404, "Not Found"),
    ],
)
async def test_bad_input_gets_a_problem_saying_what_is_wrong_and_changes_nothing(
    client: httpx.AsyncClient, method: str, url: str, body: Any, status: int, detail: str
) -> None:
    await client.post("/todos", json={"key": "existing", "value": "original"})
    before = await snapshot(client)

    response = await client.request(method, url, json=body)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert detail in problem["detail"]
    assert await snapshot(client) == before


async def test_a_malformed_json_body_is_a_problem_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/todos", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_a_key_unicode_spells_another_way_is_the_same_todo(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/todos", json={"key": "caf\u00e9"})

    twin = await client.post("/todos", json={"key": "cafe\u0301"})
    fetched = await client.get("/todos/cafe%CC%81")

    assert (created.status_code, twin.status_code) == (201, 409)
    assert fetched.json() == created.json()


async def test_bob_cannot_read_change_or_delete_alice_s_todo_even_naming_her_as_owner(
    client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    created = await client.post("/todos", json={"key": "milk", "value": "2 l"})
    alice = {"owner": await subject_of(client)}

    for params in ({}, alice):
        assert (await bob.get("/todos/milk", params=params)).status_code == 404
        assert (
            await bob.patch("/todos/milk", params=params, json={"done": True})
        ).status_code == 404
        assert (await bob.delete("/todos/milk", params=params)).status_code == 404
    assert (await client.get("/todos/milk")).json() == created.json()


async def test_bob_does_not_see_alice_s_todos_in_his_list_even_filtering_by_her(
    client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await client.post("/todos", json={"key": "milk"})
    await bob.post("/todos", json={"key": "eggs"})

    for params in ({}, {"owner": await subject_of(client)}):
        listed = (await bob.get("/todos", params=params)).json()
        assert ([item["key"] for item in listed["items"]], listed["total"]) == (["eggs"], 1)


async def test_alice_and_bob_each_have_a_todo_called_milk(
    client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    alice_s = await client.post("/todos", json={"key": "milk", "value": "alice's"})

    bob_s = await bob.post("/todos", json={"key": "milk", "value": "bob's"})

    assert (alice_s.status_code, bob_s.status_code) == (201, 201)
    assert (await client.get("/todos/milk")).json()["value"] == "alice's"
    assert (await bob.get("/todos/milk")).json()["value"] == "bob's"


async def test_an_admin_lists_every_owner_s_todos_with_their_owner_or_one_owner_s(
    client: httpx.AsyncClient, bob: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await client.post("/todos", json={"key": "milk"})
    await bob.post("/todos", json={"key": "milk"})
    alice, bob_ = await subject_of(client), await subject_of(bob)

    every = (await admin.get("/todos")).json()
    alice_s = (await admin.get("/todos", params={"owner": alice})).json()

    assert sorted(item["owner"] for item in every["items"]) == sorted([alice, bob_])
    assert every["total"] == 2
    assert [(item["owner"], item["key"]) for item in alice_s["items"]] == [(alice, "milk")]


async def test_an_admin_reads_alice_s_todo_naming_her_but_may_not_change_or_delete_it(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await client.post("/todos", json={"key": "milk", "value": "2 l"})
    alice = {"owner": await subject_of(client)}

    read = await admin.get("/todos/milk", params=alice)
    patched = await admin.patch("/todos/milk", params=alice, json={"value": "admin's"})
    deleted = await admin.delete("/todos/milk", params=alice)

    assert read.json() == created.json()
    assert (patched.status_code, deleted.status_code) == (403, 403)
    assert patched.headers["content-type"] == PROBLEM
    assert (await client.get("/todos/milk")).json() == created.json()


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/todos", {"key": "k"}),
        ("get", "/todos", None),
        ("get", "/todos/k", None),
        ("patch", "/todos/k", {"done": True}),
        ("delete", "/todos/k", None),
    ],
)
async def test_without_a_token_every_todo_route_answers_401_asking_for_a_bearer_token(
    anonymous: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    response = await anonymous.request(method, url, json=body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == PROBLEM


async def test_the_health_endpoint_answers(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}


async def test_every_request_gets_a_unit_of_work_of_its_own_of_the_todos_context(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = app.state.store
    opened: list[AbstractUnitOfWork] = []
    open_one = store.unit_of_work

    def recorded[U: AbstractUnitOfWork](context: type[U]) -> U:
        uow = open_one(context)
        opened.append(uow)
        return uow

    monkeypatch.setattr(store, "unit_of_work", recorded)  # what the requests' dependency calls

    await client.get("/todos/a")
    await client.get("/todos/a")

    assert len(opened) == 2
    assert opened[0] is not opened[1]
    assert all(isinstance(uow, TodosUnitOfWork) for uow in opened)
