"""/accounts and /transfers on the in-memory container: `client` is alice, `bob` another
signed-in user, `admin` holds the admin role, `anonymous` has no token."""

from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"


async def open_account(client: httpx.AsyncClient, balance: int) -> int:
    response = await client.post("/accounts", json={"holder": "h", "balance_cents": balance})
    assert response.status_code == 201, response.text
    account_id: int = response.json()["id"]
    return account_id


async def send(client: httpx.AsyncClient, key: str | None, body: Any) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await client.post("/transfers", json=body, headers=headers)


async def state(client: httpx.AsyncClient) -> Any:
    accounts = [(await client.get(f"/accounts/{n}")).json() for n in (1, 2)]
    listed = await client.get("/transfers", params={"account": 1, "total": True})
    return accounts, listed.json()


@pytest.fixture
async def funded(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Alice's accounts 1 (1000 cents) and 2 (empty)."""
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
    assert listed == {"items": [first.json()], "next": None, "total": 1, "total_capped": False}


async def test_transfers_are_listed_per_account_with_paging(funded: httpx.AsyncClient) -> None:
    for n in range(3):
        await send(funded, f"k{n}", {"from_account": 1, "to_account": 2, "amount_cents": 1})

    params = {"account": 2, "limit": 2, "offset": 1, "total": True}
    page = (await funded.get("/transfers", params=params)).json()

    assert (page["total"], page["next"]) == (3, None)
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
        ("k1", {"from_account": 1, "to_account": 2, "amount_cents": 6}, 422, "another request"),
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
        ({"holder": "", "balance_cents": 1}, "body.holder"),
        ({"holder": "h" * 101, "balance_cents": 1}, "body.holder"),
        ({"holder": "h", "balance_cents": -1}, "body.balance_cents"),
        ({"holder": "h", "balance_cents": 1.5}, "body.balance_cents"),
        ({"holder": "h", "balance_cents": 10**16}, "body.balance_cents"),
        ({"holder": "h", "owner": "someone", "balance_cents": 1}, "body.owner"),
        ({"owner": "h", "balance_cents": 1}, "body.holder"),
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


async def subject_of(client: httpx.AsyncClient) -> str:
    subject: str = (await client.get("/auth/me")).json()["subject"]
    return subject


async def test_an_account_is_owned_by_who_opened_it_and_held_in_the_name_given(
    client: httpx.AsyncClient,
) -> None:
    opened = await client.post("/accounts", json={"holder": "Ann Lee", "balance_cents": 5})

    fetched = await client.get(opened.headers["location"])

    assert fetched.json() == opened.json()
    assert fetched.json() == {
        "id": 1,
        "owner": await subject_of(client),
        "holder": "Ann Lee",
        "balance_cents": 5,
        "version": 1,
    }


async def test_someone_elses_account_is_a_404_and_an_admin_reads_it(
    funded: httpx.AsyncClient, bob: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    by_bob = await bob.get("/accounts/1")
    by_admin = await admin.get("/accounts/1")

    assert (by_bob.status_code, by_bob.json()["detail"]) == (404, "account 1 does not exist")
    assert by_admin.json() == (await funded.get("/accounts/1")).json()


async def test_money_leaves_only_ones_own_account_and_an_admin_is_refused_openly(
    funded: httpx.AsyncClient, bob: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    before = await state(funded)
    body = {"from_account": 1, "to_account": 2, "amount_cents": 5}

    by_bob = await send(bob, "k1", body)
    by_admin = await send(admin, "k2", body)

    assert (by_bob.status_code, by_bob.json()["detail"]) == (404, "account 1 does not exist")
    assert by_admin.status_code == 403
    assert await state(funded) == before


async def test_money_goes_to_anyones_account(
    funded: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    bobs = await open_account(bob, 100)

    sent = await send(bob, "k1", {"from_account": bobs, "to_account": 1, "amount_cents": 40})

    assert sent.status_code == 201
    assert (await funded.get("/accounts/1")).json()["balance_cents"] == 1040


async def test_bob_cannot_replay_alices_transfer_with_her_key(
    funded: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    body = {"from_account": 1, "to_account": 2, "amount_cents": 5}
    await send(funded, "k1", body)
    before = await state(funded)

    replay = await send(bob, "k1", body)

    assert replay.status_code == 404
    assert "idempotent-replayed" not in replay.headers
    assert await state(funded) == before


async def test_transfers_are_listed_only_for_an_account_one_owns_and_all_only_to_an_admin(
    funded: httpx.AsyncClient, bob: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    sent = await send(funded, "k1", {"from_account": 1, "to_account": 2, "amount_cents": 5})

    unnamed = await funded.get("/transfers")
    bobs_look = await bob.get("/transfers", params={"account": 1})
    admins_all = await admin.get("/transfers", params={"total": True})
    admins_of_one = await admin.get("/transfers", params={"account": 2, "total": True})

    assert (unnamed.status_code, unnamed.json()["field"]) == (422, "account")
    assert (bobs_look.status_code, bobs_look.json()["detail"]) == (404, "account 1 does not exist")
    one = {"items": [sent.json()], "next": None, "total": 1, "total_capped": False}
    assert admins_all.json() == admins_of_one.json() == one


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/accounts", {"holder": "h", "balance_cents": 1}),
        ("get", "/accounts/1", None),
        ("post", "/transfers", {"from_account": 1, "to_account": 2, "amount_cents": 5}),
        ("get", "/transfers?account=1", None),
        ("get", "/transfers", None),
    ],
)
async def test_without_a_token_every_account_and_transfer_route_is_a_401(
    funded: httpx.AsyncClient, anonymous: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    before = await state(funded)

    response = await anonymous.request(method, url, json=body, headers={"Idempotency-Key": "k9"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await state(funded) == before
