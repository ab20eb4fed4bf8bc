"""Migration 0003 of the examples' history: identity keys stored before the domain normalized
them are rewritten (a fork starts a history of its own, without it)."""

from typing import Any

import pytest
import sqlalchemy
from alembic import command

from adapters.dqlite.migrations import alembic_config


def rows(engine: sqlalchemy.Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sqlalchemy.text(query))]


def insert(engine: sqlalchemy.Engine, statement: str, *parameters: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(statement), list(parameters))


NEW_USER = (
    "INSERT INTO users (id, name, email, email_key, is_active, created_at) "
    "VALUES (:id, 'n', :email, :key, 1, '2026-01-01T00:00:00+00:00')"
)


def test_keys_stored_before_normalization_are_rewritten_in_their_normalized_forms(
    url: str, engine: sqlalchemy.Engine
) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0002")
    insert(
        engine,
        "INSERT INTO todos (key, value, done) VALUES (:key, 'v', 0)",
        {"key": "cafe\u0301"},  # e + combining acute: NFD
        {"key": "plain"},
    )
    # As the old code stored them: the email lower-cased.
    insert(
        engine,
        NEW_USER,
        {"id": 1, "email": "STRASSE@example.org", "key": "strasse@example.org"},
        {"id": 2, "email": "\u212aelvin@example.org", "key": "\u212aelvin@example.org"},
    )

    command.upgrade(config, "head")

    assert rows(engine, "SELECT key FROM todos ORDER BY key") == [("caf\u00e9",), ("plain",)]
    assert rows(engine, "SELECT id, email, email_key FROM users ORDER BY id") == [
        (1, "STRASSE@example.org", "strasse@example.org"),
        (2, "\u212aelvin@example.org", "kelvin@example.org"),
    ]


def test_stored_twins_stop_the_upgrade_naming_them_and_nothing_changes(
    url: str, engine: sqlalchemy.Engine
) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0002")
    insert(
        engine,
        NEW_USER,
        {"id": 1, "email": "straße@example.org", "key": "straße@example.org"},
        {"id": 2, "email": "STRASSE@example.org", "key": "strasse@example.org"},
    )

    with pytest.raises(RuntimeError, match=r"'strasse@example.org': \[1, 2\]"):
        command.upgrade(config, "head")

    assert rows(engine, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert rows(engine, "SELECT email_key FROM users ORDER BY id") == [
        ("straße@example.org",),
        ("strasse@example.org",),
    ]
