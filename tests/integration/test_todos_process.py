"""The todos example end to end: real HTTP to a real app process on an embedded dqlite node."""

import uuid
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import httpx
import pytest

from tests.integration.process import AppProcess, assert_problem, http_client

KEY_MAX_LENGTH = 128


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """One app process shared by the tests that do not stop or restart it."""
    process = AppProcess(tmp_path_factory.mktemp("shared-app"))
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture
def client(app: AppProcess) -> Iterator[httpx.Client]:
    with http_client(app) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def stored(client: httpx.Client) -> dict[str, Any]:
    """Every todo the app serves, as the list endpoint returns them."""
    response = client.get("/todos", params={"limit": 1000, "total": True})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert page["total"] == len(page["items"]), "more todos than one page: widen the snapshot"
    assert page["next"] is None
    return page


def create(client: httpx.Client, key: str, value: str = "") -> dict[str, Any]:
    response = client.post("/todos", json={"key": key, "value": value})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- Happy path -----------------------------------------------------------------------------


def test_a_todo_posted_over_http_is_served_back_by_its_key(client: httpx.Client) -> None:
    key = unique("read-back")

    created = client.post("/todos", json={"key": key, "value": "buy milk"})

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/todos/{key}"
    owner = client.get("/auth/me").json()["subject"]
    assert created.json() == {"owner": owner, "key": key, "value": "buy milk", "done": False}
    fetched = client.get(f"/todos/{key}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created.json()
    assert fetched.json() in stored(client)["items"]


# --- Bad input: a 4xx problem that names the problem, and nothing stored changes ------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param({"key": "k" * (KEY_MAX_LENGTH + 1)}, ["key", "128"], id="key-129-chars"),
        pytest.param({"key": 5}, ["key", "string"], id="key-not-a-string"),
        pytest.param({"key": "ok", "value": "v" * 129}, ["value", "128"], id="value-129-chars"),
        pytest.param({"key": "ok", "done": True}, ["done"], id="unknown-field"),
    ],
)
def test_a_todo_that_cannot_be_created_is_rejected_with_a_problem_and_nothing_is_stored(
    client: httpx.Client, body: dict[str, Any], named: list[str]
) -> None:
    before = stored(client)

    response = client.post("/todos", json=body)

    assert_problem(response, HTTPStatus.UNPROCESSABLE_ENTITY, *named)
    assert stored(client) == before


def test_an_over_long_key_in_the_path_is_rejected_as_invalid_not_reported_missing(
    client: httpx.Client,
) -> None:
    before = stored(client)

    response = client.get(f"/todos/{'k' * (KEY_MAX_LENGTH + 1)}")

    body = assert_problem(response, HTTPStatus.UNPROCESSABLE_ENTITY, "key", "128")
    assert body["field"] == "key"
    assert stored(client) == before


def test_a_change_with_a_wrong_type_is_rejected_and_the_todo_stays_as_it_was(
    client: httpx.Client,
) -> None:
    key = unique("typed")
    original = create(client, key, "original")
    before = stored(client)

    response = client.patch(f"/todos/{key}", json={"key": "a", "value": "x", "done": "yes"})

    assert_problem(response, HTTPStatus.UNPROCESSABLE_ENTITY, "done", "boolean")
    assert client.get(f"/todos/{key}").json() == original
    assert stored(client) == before


@pytest.mark.parametrize("limit", [0, 5000])
def test_a_page_size_out_of_bounds_is_rejected_with_a_problem(
    client: httpx.Client, limit: int
) -> None:
    create(client, unique("paged"))
    before = stored(client)

    response = client.get("/todos", params={"limit": limit})

    assert_problem(response, HTTPStatus.UNPROCESSABLE_ENTITY, "limit")
    assert stored(client) == before


def test_an_unknown_query_parameter_is_rejected_rather_than_ignored(client: httpx.Client) -> None:
    before = stored(client)

    response = client.get("/todos", params={"sort": "key"})

    assert_problem(response, HTTPStatus.UNPROCESSABLE_ENTITY, "sort")
    assert stored(client) == before


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"done": True}), ("DELETE", None)],
)
def test_an_unknown_key_is_a_404_problem_that_names_it(
    client: httpx.Client, method: str, body: dict[str, Any] | None
) -> None:
    key = unique("missing")
    before = stored(client)

    response = client.request(method, f"/todos/{key}", json=body)

    assert_problem(response, HTTPStatus.NOT_FOUND, key)
    assert stored(client) == before


def test_a_duplicate_key_is_a_409_problem_and_the_original_todo_is_unchanged(
    client: httpx.Client,
) -> None:
    key = unique("taken")
    original = create(client, key, "first")
    before = stored(client)

    response = client.post("/todos", json={"key": key, "value": "second"})

    assert_problem(response, HTTPStatus.CONFLICT, key, "already exists")
    assert client.get(f"/todos/{key}").json() == original
    assert stored(client) == before


# --- Keys that need escaping in a URL ------------------------------------------------------


def test_a_todo_whose_key_is_outside_latin1_is_created_with_a_201(app: AppProcess) -> None:
    key = unique("tick-✓")
    with http_client(app) as client:  # the 500 makes the server drop this connection
        response = client.post("/todos", json={"key": key, "value": "v"})
    with http_client(app) as client:
        stored_after = client.get(f"/todos/{key}").status_code
    assert (response.status_code, stored_after) == (201, 200)


@pytest.mark.parametrize("mark", ["?", "#", "%41"])
def test_the_location_of_a_created_todo_leads_back_to_it_whatever_the_key(
    client: httpx.Client, mark: str
) -> None:
    key = unique(f"odd{mark}key")
    response = client.post("/todos", json={"key": key})
    assert response.status_code == 201, response.text

    followed = client.get(response.headers["location"])

    assert followed.status_code == 200, followed.text
    assert followed.json()["key"] == key
