"""/users and /posts on the in-memory container."""

from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"


async def register(client: httpx.AsyncClient, name: str, email: str) -> dict[str, Any]:
    response = await client.post("/users", json={"name": name, "email": email})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_registered_user_is_served_from_its_location(client: httpx.AsyncClient) -> None:
    created = await client.post("/users", json={"name": "Ann", "email": "Ann@Example.org"})

    fetched = await client.get(created.headers["location"])

    assert fetched.json() == created.json()
    assert fetched.json()["is_active"] is True
    assert fetched.json()["created_at"].endswith(("Z", "+00:00"))


async def test_a_post_is_served_with_its_author_and_listed_under_the_user(
    client: httpx.AsyncClient,
) -> None:
    ann = await register(client, "Ann", "ann@example.org")
    created = await client.post(f"/users/{ann['id']}/posts", json={"title": "Hi"})
    assert created.status_code == 201

    post = (await client.get(created.headers["location"])).json()
    listed = (await client.get(f"/users/{ann['id']}/posts")).json()

    assert post["author"] == {"id": ann["id"], "name": "Ann", "email": "ann@example.org"}
    assert post["content"] is None
    assert listed == {"items": [created.json()], "total": 1}


async def test_an_email_spelled_with_other_letter_cases_or_forms_is_taken(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "first", "straße@example.org")

    twins = [
        await client.post("/users", json={"name": "twin", "email": email})
        for email in ("STRASSE@example.org", "Stra\u00dfe@EXAMPLE.org")
    ]

    assert [twin.status_code for twin in twins] == [409, 409]


async def test_the_user_list_filters_pages_and_includes_posts_on_request(
    client: httpx.AsyncClient,
) -> None:
    for n in range(3):
        user = await register(client, f"user{n}", f"u{n}@example.org")
        await client.post(f"/users/{user['id']}/posts", json={"title": f"t{n}", "content": ""})

    plain = (await client.get("/users", params={"limit": 1, "offset": 1})).json()
    with_posts = (await client.get("/users", params={"include_posts": "true"})).json()

    assert plain["total"] == 3
    assert [u["name"] for u in plain["items"]] == ["user1"]
    assert plain["items"][0]["posts"] is None
    assert [[p["title"] for p in u["posts"]] for u in with_posts["items"]] == [
        ["t0"],
        ["t1"],
        ["t2"],
    ]
    assert [u["posts_total"] for u in with_posts["items"]] == [1, 1, 1]


async def test_a_user_with_many_posts_is_listed_with_a_bounded_number_of_them(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client, "prolific", "prolific@example.org")
    for n in range(25):
        await client.post(f"/users/{user['id']}/posts", json={"title": f"t{n}", "content": ""})

    default = (await client.get("/users", params={"include_posts": "true"})).json()
    three = (await client.get("/users", params={"include_posts": "true", "posts_limit": 3})).json()
    too_many = await client.get("/users", params={"include_posts": "true", "posts_limit": 101})

    assert [p["title"] for p in default["items"][0]["posts"]] == [f"t{n}" for n in range(10)]
    assert [p["title"] for p in three["items"][0]["posts"]] == ["t0", "t1", "t2"]
    assert default["items"][0]["posts_total"] == three["items"][0]["posts_total"] == 25
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "detail"),
    [
        ("post", "/users", {"name": "Ann", "email": "ANN@example.org"}, 409, "already exists"),
        ("post", "/users", {"name": "Ann", "email": "not-an-email"}, 422, "email"),
        ("post", "/users", {"name": "", "email": "b@example.org"}, 422, "body.name"),
        ("post", "/users", {"name": "n" * 101, "email": "b@example.org"}, 422, "body.name"),
        ("post", "/users", {"name": 5, "email": "b@example.org"}, 422, "body.name"),
        ("get", "/users/999", None, 404, "user 999 does not exist"),
        ("get", "/users/0", None, 422, "path.user_id"),
        ("get", "/users/abc", None, 422, "path.user_id"),
        ("get", "/users?limit=1001", None, 422, "query.limit"),
        ("post", "/users/999/posts", {"title": "t"}, 404, "user 999 does not exist"),
        ("post", "/users/1/posts", {"title": ""}, 422, "body.title"),
        ("post", "/users/1/posts", {"title": "t", "content": 5}, 422, "body.content"),
        ("get", "/users/999/posts", None, 404, "user 999 does not exist"),
        ("get", "/posts/999", None, 404, "post 999 does not exist"),
    ],
)
async def test_bad_input_gets_a_problem_saying_what_is_wrong_and_changes_nothing(
    client: httpx.AsyncClient, method: str, url: str, body: Any, status: int, detail: str
) -> None:
    await register(client, "Ann", "ann@example.org")
    before = (await client.get("/users", params={"include_posts": "true"})).json()

    response = await client.request(method, url, json=body)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]
    assert (await client.get("/users", params={"include_posts": "true"})).json() == before
