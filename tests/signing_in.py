"""Signing in from tests: register a person and get their bearer token, over the real API."""

import httpx

PASSWORD = "correct horse battery staple"
# Argon2id at its cheapest: tests sign in often, and the production cost is not what they test.
CHEAP_HASHING = {
    "APP_PASSWORD_HASH_TIME_COST": "1",
    "APP_PASSWORD_HASH_MEMORY_KIB": "1024",
    "APP_PASSWORD_HASH_PARALLELISM": "1",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def signed_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Register `email` (unless it is already) and return the headers of its bearer token."""
    registered = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code in (201, 409), registered.text
    answer = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def signed_up_sync(client: httpx.Client, email: str) -> dict[str, str]:
    """`signed_up`, for tests that drive a running app without an event loop."""
    registered = client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code in (201, 409), registered.text
    answer = client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])
