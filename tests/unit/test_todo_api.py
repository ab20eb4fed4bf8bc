"""The /todos API on the in-memory container: statuses, bodies, nothing lost on bad input, and
each signed-in principal's own todos (`client` is alice, `bob` another person)."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from domain.paging import SCAN_LIMIT, Cursor
from domain.todos import Todo
from service.contexts import TodosUnitOfWork
from service.operations import Store
from service.unit_of_work import AbstractUnitOfWork

PROBLEM = "application/problem+json"
AFTER_K = Cursor(("1", "k")).encode()  # where a list of alice's todos resumes after "k"


async def snapshot(client: httpx.AsyncClient) -> Any:
    response = await client.get("/todos", params={"limit": 1000, "total": True})
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

    params: dict[str, str | int] = {
        "key_contains": "a",
        "value_contains": "A",
        "done": "false",
        "limit": 1,
    }
    response = await client.get("/todos", params={**params, "total": "true"})
    page = response.json()
    following = await client.get("/todos", params={**params, "after": page["next"]})

    owner = await subject_of(client)
    first = {"owner": owner, "key": "a1", "value": "A1", "done": False}
    second = {"owner": owner, "key": "a2", "value": "A2", "done": False}
    assert page["next"] is not None
    assert page == {"items": [first], "next": page["next"], "total": 2, "total_capped": False}
    assert following.json() == {
        "items": [second],
        "next": None,
        "total": None,
        "total_capped": False,
    }


async def stored(app: FastAPI, owner: str, keys: list[str]) -> None:
    """Todos of `owner` written through a unit of work: many, faster than as many POSTs."""
    uow = app.state.store.unit_of_work(TodosUnitOfWork)
    async with uow:
        for key in keys:
            await uow.todos.add(Todo.create(owner, key, ""))
        await uow.commit()


async def every_page(client: httpx.AsyncClient, params: dict[str, Any]) -> list[Any]:
    """The pages of a list, each from the `next` of the one before, until it is null."""
    pages = [(await client.get("/todos", params=params)).json()]
    while pages[-1]["next"] is not None:
        after = pages[-1]["next"]
        pages.append((await client.get("/todos", params={**params, "after": after})).json())
    return pages


async def test_following_next_lists_every_todo_once_in_order_and_ends_with_next_null(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    keys = [f"k{n:03}" for n in range(250)]
    await stored(app, await subject_of(client), keys[::-1])

    pages = await every_page(client, {"limit": 100})

    assert [len(page["items"]) for page in pages] == [100, 100, 50]
    assert [item["key"] for page in pages for item in page["items"]] == keys
    assert pages[-1]["next"] is None


async def test_a_total_is_counted_only_when_asked_for(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await stored(app, await subject_of(client), [f"k{n:03}" for n in range(250)])

    counted = (await client.get("/todos", params={"limit": 100, "total": True})).json()
    uncounted = (await client.get("/todos", params={"limit": 100})).json()

    assert (counted["total"], counted["total_capped"]) == (250, False)
    assert (uncounted["total"], uncounted["total_capped"]) == (None, False)
    assert counted["items"] == uncounted["items"]


@pytest.mark.parametrize(
    "after",
    [
        "not-a-cursor",  # not base64 of JSON
        "e30",  # {}: JSON, not a position
        "W10",  # []: no column
        Cursor((1,)).encode(),  # a cursor of a list by id, as the users'
        Cursor(("1", 2)).encode(),  # a key that is not a string
        "W" * 1025,  # longer than any cursor
    ],
)
async def test_an_after_that_is_not_a_cursor_of_the_list_is_a_422_naming_after(
    client: httpx.AsyncClient, after: str
) -> None:
    response = await client.get("/todos", params={"after": after})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith(("after: ", "query.after: "))


async def test_a_substring_page_looks_through_at_most_scan_limit_todos_and_says_where_to_go_on(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await stored(app, await subject_of(client), [*(f"k{n:05}" for n in range(SCAN_LIMIT)), "zz"])

    pages = await every_page(client, {"key_contains": "zz"})

    assert [[item["key"] for item in page["items"]] for page in pages] == [[], ["zz"]]
    assert pages[0]["next"] is not None


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
        ("get", "/todos?offset=10001", None, 422, "query.offset"),
        ("get", "/todos?key_contains=e&offset=1", None, 422, "offset: cannot be combined"),
        ("get", "/todos?value_contains=o&offset=1", None, 422, "offset: cannot be combined"),
        ("get", f"/todos?after={AFTER_K}&offset=1", None, 422, "offset: cannot be combined"),
        ("get", "/todos?after=not-a-cursor", None, 422, "after: is not a cursor"),
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
        listed = (await bob.get("/todos", params={**params, "total": True})).json()
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

    every = (await admin.get("/todos", params={"total": True})).json()
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
