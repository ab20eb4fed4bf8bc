"""The bank's history on a real dqlite node: the transfers' idempotency keys move to the stored
answers every context keeps, so that a transfer sent again after the upgrade is answered as
before, and a key is unique per principal only."""

import json

import sqlalchemy
from alembic import command
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from adapters.dqlite.migrations import alembic_config
from entrypoints.api.transfers import TransferOut
from entrypoints.idempotency import keyed_request

TRANSFER = {"from_account": 1, "to_account": 2, "amount_cents": 250}


def fingerprint_of_a_transfer_sent_now(body: dict[str, int]) -> str:
    """The fingerprint the app gives POST /transfers with `body`, its keys in another order."""
    app = FastAPI()
    seen: list[str] = []

    @app.post("/transfers", status_code=201)
    async def transfers(request: Request, response: Response) -> None:
        async with keyed_request(request, response, "alice") as once:
            assert once.keyed is not None
            seen.append(once.keyed.fingerprint)

    app.state.keys_in_flight = set()
    reordered = json.dumps(dict(reversed(body.items())))
    headers = {"Idempotency-Key": "k", "Content-Type": "application/json"}
    TestClient(app).post("/transfers", content=reordered, headers=headers)
    return seen[0]


def test_the_transfers_keys_become_stored_answers_scoped_to_the_owner_of_the_source(
    url: str, engine: sqlalchemy.Engine
) -> None:
    config = alembic_config(url, "bank")
    command.upgrade(config, "0002")
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO accounts (id, owner, holder, balance_cents, version) "
                "VALUES (1, 'alice', 'Ann', 750, 2), (2, 'bob', 'Bob', 250, 2)"
            )
        )
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO transfers VALUES (1, 1, 2, 250, 'k', '20260102T030405.678901+00:00')"
            )
        )

    command.upgrade(config, "head")

    with engine.begin() as connection:
        stored = connection.execute(sqlalchemy.text("SELECT * FROM idempotency_keys")).one()
        # Bob may now send a transfer under alice's key: keys are each principal's.
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO transfers VALUES (2, 2, 1, 5, 'k', '20260102T030406+00:00')"
            )
        )
    answered = TransferOut.model_validate(
        {"id": 1, **TRANSFER, "idempotency_key": "k", "created_at": "2026-01-02T03:04:05.678901Z"}
    )
    assert stored.scope == "alice"
    assert stored.key == "k"
    assert stored.fingerprint == fingerprint_of_a_transfer_sent_now(TRANSFER)
    assert (stored.status, stored.location) == (201, "/transfers?account=1")
    assert stored.body == answered.model_dump_json()
    assert stored.stored_at_ms == 1767323045678

    with engine.begin() as connection:  # the key is unique again below: bob's transfer goes
        connection.execute(sqlalchemy.text("DELETE FROM transfers WHERE id = 2"))
    command.downgrade(config, "0002")
    assert "idempotency_keys" not in sqlalchemy.inspect(engine).get_table_names()
