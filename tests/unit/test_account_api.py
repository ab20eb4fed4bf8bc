"""/accounts and /transfers on the in-memory container."""

from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"


async def open_account(client: httpx.AsyncClient, balance: int) -> int:
    response = await client.post("/accounts", json={"owner": "o", "balance_cents": balance})
    assert response.status_code == 201, response.text
    account_id: int = response.json()["id"]
    return account_id


async def send(client: httpx.AsyncClient, key: str | None, body: Any) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await client.post("/transfers", json=body, headers=headers)


async def state(client: httpx.AsyncClient) -> Any:
    accounts = [(await client.get(f"/accounts/{n}")).json() for n in (1, 2)]
    return accounts, (await client.get("/transfers")).json()


@pytest.fixture
async def funded(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await open_account(client, 1000)
    await open_account(client, 0)
    return client


async def test_a_transfer_moves_money_and_a_replay_returns_it_again(
    funded: httpx.AsyncClient,
) -> None:
    body = {"from_account": 1, "to_account": 2, "amount_cents": 250}
    first = await send(funded, "k1", body)
    replay = await send(funded, "k1", body)

    assert (first.status_code, first.headers["idempotent-replayed"]) == (201, "false")
    assert (replay.status_code, replay.headers["idempotent-replayed"]) == (201, "true")
    assert replay.json() == first.json()
    accounts, listed = await state(funded)
    assert [a["balance_cents"] for a in accounts] == [750, 250]
    assert listed == {"items": [first.json()], "total": 1}


async def test_transfers_are_listed_per_account_with_paging(funded: httpx.AsyncClient) -> None:
    for n in range(3):
        await send(funded, f"k{n}", {"from_account": 1, "to_account": 2, "amount_cents": 1})

    page = (await funded.get("/transfers", params={"account": 2, "limit": 2, "offset": 1})).json()

    assert page["total"] == 3
    assert [t["idempotency_key"] for t in page["items"]] == ["k1", "k2"]


@pytest.mark.parametrize(
    ("key", "body", "status", "detail"),
    [
        ("k2", {"from_account": 1, "to_account": 2, "amount_cents": 1001}, 409, "less than 1001"),
        ("k2", {"from_account": 1, "to_account": 1, "amount_cents": 5}, 422, "must differ"),
        ("k2", {"from_account": 1, "to_account": 2, "amount_cents": 0}, 422, "body.amount_cents"),
        ("k2", {"from_account": 1, "to_account": 2, "amount_cents": -5}, 422, "amount_cents"),
        ("k2", {"from_account": 1, "to_account": 2, "amount_cents": "5"}, 422, "amount_cents"),
        ("k2", {"from_account": 1, "to_account": 9, "amount_cents": 5}, 404, "account 9"),
        ("k1", {"from_account": 1, "to_account": 2, "amount_cents": 6}, 422, "different transfer"),
        (None, {"from_account": 1, "to_account": 2, "amount_cents": 5}, 422, "Idempotency-Key"),
        ("", {"from_account": 1, "to_account": 2, "amount_cents": 5}, 422, "Idempotency-Key"),
        ("k\x01", {"from_account": 1, "to_account": 2, "amount_cents": 5}, 422, "visible ASCII"),
        ("k 2", {"from_account": 1, "to_account": 2, "amount_cents": 5}, 422, "visible ASCII"),
        ("k2", {"from_account": 1, "to_account": 2}, 422, "body.amount_cents"),
    ],
)
async def test_a_refused_transfer_gets_a_problem_and_changes_nothing(
    funded: httpx.AsyncClient, key: str | None, body: Any, status: int, detail: str
) -> None:
    await send(funded, "k1", {"from_account": 1, "to_account": 2, "amount_cents": 5})
    before = await state(funded)

    response = await send(funded, key, body)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]
    assert await state(funded) == before


async def test_two_idempotency_keys_on_one_transfer_are_refused_not_one_picked(
    funded: httpx.AsyncClient,
) -> None:
    before = await state(funded)

    response = await funded.post(
        "/transfers",
        json={"from_account": 1, "to_account": 2, "amount_cents": 5},
        headers=[("Idempotency-Key", "k7"), ("Idempotency-Key", "k8")],
    )

    assert response.status_code == 422
    assert "exactly one" in response.json()["detail"]
    assert await state(funded) == before


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"owner": "", "balance_cents": 1}, "body.owner"),
        ({"owner": "o", "balance_cents": -1}, "body.balance_cents"),
        ({"owner": "o", "balance_cents": 1.5}, "body.balance_cents"),
        ({"owner": "o", "balance_cents": 10**16}, "body.balance_cents"),
    ],
)
async def test_an_account_with_a_bad_opening_is_refused(
    client: httpx.AsyncClient, body: Any, detail: str
) -> None:
    response = await client.post("/accounts", json=body)

    assert response.status_code == 422
    assert detail in response.json()["detail"]
    assert (await client.get("/accounts/1")).status_code == 404


@pytest.mark.parametrize("written", ["1.0", "+1", "1_000", "٣", "0x1", " 1"])
async def test_an_id_in_a_path_is_plain_decimal_digits_or_a_422(
    funded: httpx.AsyncClient, written: str
) -> None:
    response = await funded.get(f"/accounts/{written}")

    assert response.status_code == 422
    assert "decimal digits" in response.json()["detail"]
