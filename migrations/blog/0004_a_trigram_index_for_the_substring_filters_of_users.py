"""a trigram index for the substring filters of users' lists (name_contains, email_contains)

An FTS5 table over the users table's name and folded email (external content: it holds the
index only), kept in step by triggers and filled here from the rows already stored. A
fragment of three characters or more is looked up in it instead of being checked on every
user walked.

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
    "CREATE VIRTUAL TABLE users_search USING fts5(name, email_key, content='users', columnsize=0, "
    "tokenize='trigram case_sensitive 1')",
    'CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN INSERT INTO users_search '
    '(rowid, name, email_key) VALUES (new.rowid, new.name, new.email_key); END',
    'CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN INSERT INTO users_search '
    "(users_search, rowid, name, email_key) VALUES ('delete', old.rowid, old.name, old.email_key);"
    ' END',
    'CREATE TRIGGER users_search_update AFTER UPDATE OF name, email_key ON users BEGIN INSERT INTO'
    " users_search (users_search, rowid, name, email_key) VALUES ('delete', old.rowid, old.name, "
    'old.email_key); INSERT INTO users_search (rowid, name, email_key) VALUES (new.rowid, '
    'new.name, new.email_key); END',
    "INSERT INTO users_search (users_search) VALUES ('rebuild')",
)

DROP_SEARCH_INDEX = (
    'DROP TRIGGER IF EXISTS users_search_insert',
    'DROP TRIGGER IF EXISTS users_search_delete',
    'DROP TRIGGER IF EXISTS users_search_update',
    'DROP TABLE users_search',
)


def upgrade() -> None:
    for statement in CREATE_SEARCH_INDEX:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_SEARCH_INDEX:
        op.execute(statement)
