"""The tests' own ledger, on the in-memory store: what the process and fault tests rely on."""

from collections.abc import AsyncIterator

import httpx
import pytest
from dependency_injector import providers

from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.ledger.serve import create_app_with_ledger


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    container = Container()
    container.settings.override(providers.Object(Settings(storage="memory")))
    app = create_app_with_ledger(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def open_account(client: httpx.AsyncClient, cents: int) -> int:
    response = await client.post("/ledger/accounts", json={"owner": "o", "balance_cents": cents})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def transfer(
    client: httpx.AsyncClient, key: str, source: int, target: int, cents: int
) -> httpx.Response:
    body = {"from_account": source, "to_account": target, "amount_cents": cents}
    return await client.post("/ledger/transfers", json=body, headers={"Idempotency-Key": key})


async def balances(client: httpx.AsyncClient, *ids: int) -> list[tuple[int, int]]:
    answers = [(await client.get(f"/ledger/accounts/{id}")).json() for id in ids]
    return [(answer["balance_cents"], answer["version"]) for answer in answers]


async def test_a_transfer_moves_money_once_and_a_replayed_key_gets_the_first_answer(
    client: httpx.AsyncClient,
) -> None:
    a, b = await open_account(client, 100), await open_account(client, 0)

    first = await transfer(client, "k1", a, b, 30)
    again = await transfer(client, "k1", a, b, 30)

    assert (first.status_code, first.headers["Idempotent-Replayed"]) == (201, "false")
    assert (again.headers["Idempotent-Replayed"], again.json()) == ("true", first.json())
    assert await balances(client, a, b) == [(70, 1), (30, 1)]
    listed = (await client.get("/ledger/transfers")).json()
    assert (listed["items"], listed["total"]) == ([first.json()], 1)


async def test_insufficient_funds_and_a_reused_key_are_refused_and_move_nothing(
    client: httpx.AsyncClient,
) -> None:
    a, b = await open_account(client, 10), await open_account(client, 0)
    await transfer(client, "used", a, b, 5)

    too_much = await transfer(client, "new", a, b, 6)
    reused = await transfer(client, "used", b, a, 5)
    same_account = await transfer(client, "self", a, a, 1)

    assert (too_much.status_code, reused.status_code, same_account.status_code) == (409, 422, 422)
    assert await balances(client, a, b) == [(5, 1), (5, 1)]
    assert (await client.get("/ledger/transfers")).json()["total"] == 1


async def test_an_unknown_account_is_a_404(client: httpx.AsyncClient) -> None:
    a = await open_account(client, 10)

    assert (await client.get("/ledger/accounts/99")).status_code == 404
    assert (await transfer(client, "k", a, 99, 1)).status_code == 404


async def test_accounts_are_listed_oldest_first_a_page_at_a_time(
    client: httpx.AsyncClient,
) -> None:
    ids = [await open_account(client, cents) for cents in (1, 2, 3)]

    page = (await client.get("/ledger/accounts", params={"limit": 2, "offset": 1})).json()

    assert [item["id"] for item in page["items"]] == ids[1:]
    assert page["total"] == 3


# As JSON text: a lone surrogate cannot be sent otherwise, but a client can send its escape.
@pytest.mark.parametrize("owner", [r'"a\u0000b"', r'"\ud800"'])
async def test_an_owner_that_cannot_be_stored_is_a_422_and_opens_nothing(
    client: httpx.AsyncClient, owner: str
) -> None:
    body = f'{{"owner": {owner}, "balance_cents": 5}}'
    headers = {"content-type": "application/json"}
    response = await client.post("/ledger/accounts", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert "owner" in response.text
    assert (await client.get("/ledger/accounts/1")).status_code == 404
