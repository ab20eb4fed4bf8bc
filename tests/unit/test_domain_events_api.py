"""Domain events end to end on the in-memory store: a user registered through the API gets a
welcome todo from the relay, through the todos' own unit of work."""

import asyncio

import httpx


async def eventually_found(client: httpx.AsyncClient, path: str) -> httpx.Response:
    for _ in range(50):  # the relay looks as soon as the commit rings its bell
        answer = await client.get(path)
        if answer.status_code == 200:
            return answer
        await asyncio.sleep(0.05)
    return answer


async def test_a_registered_user_finds_a_welcome_todo_made_once(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/users", json={"name": "Ada", "email": "ada@example.org"})
    user_id = created.json()["id"]

    welcome = await eventually_found(client, f"/todos/welcome-user-{user_id}")

    assert welcome.status_code == 200
    assert welcome.json()["value"] == "Welcome, Ada!"
    listed = await client.get("/todos", params={"key_contains": "welcome-user-", "total": True})
    assert listed.json()["total"] == 1


async def test_metrics_show_each_contexts_outbox_and_relay(client: httpx.AsyncClient) -> None:
    await client.post("/users", json={"name": "Bo", "email": "bo@example.org"})
    await eventually_found(client, "/todos/welcome-user-1")

    body = (await client.get("/metrics")).text

    # The blog's outbox held the event, and the blog's relay delivered it to the todos.
    assert 'outbox_events_pending{context="blog"} 0.0' in body
    assert 'outbox_events_parked{context="blog"} 0.0' in body
    assert 'outbox_delivered_total{context="blog"} 1.0' in body
    assert 'outbox_delivered_total{context="todos"} 0.0' in body
    for context in ("todos", "blog", "bank"):
        assert f'outbox_relay_holding{{context="{context}"}} 1.0' in body
