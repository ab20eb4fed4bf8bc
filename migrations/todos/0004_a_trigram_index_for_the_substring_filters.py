"""a trigram index for the substring filters of todos' lists (key_contains, value_contains)

An FTS5 table over the todos table's key and value (external content: it holds the index
only), kept in step by triggers and filled here from the rows already stored. A fragment of
three characters or more is looked up in it instead of being checked on every todo walked.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CREATE_SEARCH_INDEX = (
    "CREATE VIRTUAL TABLE todos_search USING fts5(key, value, content='todos', columnsize=0, "
    "tokenize='trigram case_sensitive 1')",
    'CREATE TRIGGER todos_search_insert AFTER INSERT ON todos BEGIN INSERT INTO todos_search '
    '(rowid, key, value) VALUES (new.rowid, new.key, new.value); END',
    'CREATE TRIGGER todos_search_delete AFTER DELETE ON todos BEGIN INSERT INTO todos_search '
    "(todos_search, rowid, key, value) VALUES ('delete', old.rowid, old.key, old.value); END",
    'CREATE TRIGGER todos_search_update AFTER UPDATE OF key, value ON todos BEGIN INSERT INTO '
    "todos_search (todos_search, rowid, key, value) VALUES ('delete', old.rowid, old.key, "
    'old.value); INSERT INTO todos_search (rowid, key, value) VALUES (new.rowid, new.key, '
    'new.value); END',
    "INSERT INTO todos_search (todos_search) VALUES ('rebuild')",
)

DROP_SEARCH_INDEX = (
    'DROP TRIGGER IF EXISTS todos_search_insert',
    'DROP TRIGGER IF EXISTS todos_search_delete',
    'DROP TRIGGER IF EXISTS todos_search_update',
    'DROP TABLE todos_search',
)


def upgrade() -> None:
    for statement in CREATE_SEARCH_INDEX:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_SEARCH_INDEX:
        op.execute(statement)
