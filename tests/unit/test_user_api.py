"""/users and /posts on the in-memory container: `client` is alice, `bob` another signed-in
user, `admin` holds the admin role, `anonymous` has no token."""

from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"


async def register(client: httpx.AsyncClient, name: str, email: str) -> dict[str, Any]:
    response = await client.post("/users", json={"name": name, "email": email})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def subject_of(client: httpx.AsyncClient) -> str:
    subject: str = (await client.get("/auth/me")).json()["subject"]
    return subject


async def test_a_registered_user_is_served_from_its_location_owned_by_its_registrant(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/users", json={"name": "Ann", "email": "Ann@Example.org"})

    fetched = await client.get(created.headers["location"])

    assert fetched.json() == created.json()
    assert fetched.json()["owner"] == await subject_of(client)
    assert fetched.json()["is_active"] is True
    assert fetched.json()["created_at"].endswith(("Z", "+00:00"))


async def test_a_post_is_served_with_its_author_and_listed_under_the_user(
    client: httpx.AsyncClient,
) -> None:
    ann = await register(client, "Ann", "ann@example.org")
    created = await client.post(f"/users/{ann['id']}/posts", json={"title": "Hi"})
    assert created.status_code == 201

    post = (await client.get(created.headers["location"])).json()
    listed = (await client.get(f"/users/{ann['id']}/posts", params={"total": True})).json()

    assert post["author"] == {"id": ann["id"], "name": "Ann", "email": "ann@example.org"}
    assert post["content"] is None
    assert listed == {"items": [created.json()], "next": None, "total": 1, "total_capped": False}


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

    plain = (await client.get("/users", params={"limit": 1, "offset": 1, "total": True})).json()
    with_posts = (await client.get("/users", params={"include_posts": "true"})).json()

    assert plain["total"] == 3
    assert plain["next"] is not None  # user2 follows
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
        ("get", "/users?offset=10001", None, 422, "query.offset"),
        ("get", "/users?name_contains=A&offset=1", None, 422, "offset: cannot be combined"),
        ("get", "/users?email_contains=a&offset=1", None, 422, "offset: cannot be combined"),
        ("get", "/users?after=not-a-cursor", None, 422, "after: is not a cursor"),
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


async def test_someone_elses_user_is_a_404_as_if_it_did_not_exist(
    client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    ann = await register(client, "Ann", "ann@example.org")

    response = await bob.get(f"/users/{ann['id']}")

    assert (response.status_code, response.json()["detail"]) == (
        404,
        f"user {ann['id']} does not exist",
    )


async def test_each_user_lists_only_the_users_they_registered(
    client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await register(client, "Ann", "ann@example.org")
    await register(bob, "Bob", "bob@example.org")

    alices = (await client.get("/users", params={"include_posts": True, "total": True})).json()
    bobs = (await bob.get("/users", params={"total": True})).json()

    assert ([u["name"] for u in alices["items"]], alices["total"]) == (["Ann"], 1)
    assert ([u["name"] for u in bobs["items"]], bobs["total"]) == (["Bob"], 1)


async def test_an_admin_reads_and_lists_everyones_users(
    client: httpx.AsyncClient, bob: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    ann = await register(client, "Ann", "ann@example.org")
    await register(bob, "Bob", "bob@example.org")

    listed = (await admin.get("/users")).json()

    assert (await admin.get(f"/users/{ann['id']}")).json() == ann
    assert [u["name"] for u in listed["items"]] == ["Ann", "Bob"]


async def test_any_signed_in_user_reads_anyones_posts(
    client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    ann = await register(client, "Ann", "ann@example.org")
    written = await client.post(f"/users/{ann['id']}/posts", json={"title": "Hi"})

    post = await bob.get(written.headers["location"])
    listed = await bob.get(f"/users/{ann['id']}/posts", params={"total": True})

    assert (post.status_code, post.json()["title"]) == (200, "Hi")
    assert listed.json() == {
        "items": [written.json()],
        "next": None,
        "total": 1,
        "total_capped": False,
    }


async def test_nobody_posts_as_someone_elses_user_and_an_admin_is_refused_openly(
    client: httpx.AsyncClient, bob: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    ann = await register(client, "Ann", "ann@example.org")

    as_bob = await bob.post(f"/users/{ann['id']}/posts", json={"title": "by Bob"})
    as_admin = await admin.post(f"/users/{ann['id']}/posts", json={"title": "by root"})

    assert (as_bob.status_code, as_bob.json()["detail"]) == (
        404,
        f"user {ann['id']} does not exist",
    )
    assert as_admin.status_code == 403
    listed = await client.get(f"/users/{ann['id']}/posts", params={"total": True})
    assert listed.json()["total"] == 0


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/users", {"name": "Ann", "email": "ann@example.org"}),
        ("get", "/users", None),
        ("get", "/users/1", None),
        ("post", "/users/1/posts", {"title": "t"}),
        ("get", "/users/1/posts", None),
        ("get", "/posts/1", None),
    ],
)
async def test_without_a_token_every_user_and_post_route_is_a_401(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    ann = await register(client, "Ann", "ann@example.org")
    await client.post(f"/users/{ann['id']}/posts", json={"title": "Hi"})

    response = await anonymous.request(method, url, json=body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_only_the_post_reads_are_marked_readable_by_any_signed_in_user(
    anonymous: httpx.AsyncClient,
) -> None:
    paths = (await anonymous.get("/openapi.json")).json()["paths"]

    marked = {
        (method, path)
        for path, operations in paths.items()
        if path.startswith(("/users", "/posts"))
        for method, operation in operations.items()
        if operation.get("x-readable-by") == "any signed-in user"
    }

    assert marked == {("get", "/users/{user_id}/posts"), ("get", "/posts/{post_id}")}
    assert {"401", "403"} <= set(paths["/users/{user_id}"]["get"]["responses"])
