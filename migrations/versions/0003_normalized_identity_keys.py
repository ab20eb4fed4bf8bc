"""identity keys in their normalized forms: todo keys NFC, users' email keys NFKC-casefolded

Rows written before the domain normalized identities keep the spelling they came with, so a
twin written later (`café` typed another way, `STRASSE@` for `straße@`) would not be found as
a duplicate. This rewrites those keys. Two stored rows that turn out to be twins are not
merged: the upgrade stops, naming them, and changes nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAGE_ROWS = 500


# The forms as the domain defined them when this was written (a migration never imports
# application code, which may change after it).
def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def folded(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def upgrade() -> None:
    # Todos are keyed by `key` itself; a user's `email_key` is derived from `email`.
    renormalize("todos", "key", source="key", form=nfc)
    renormalize("users", "id", source="email", form=folded, target="email_key")


def downgrade() -> None:
    pass  # the normalized keys are valid under the old code too


def renormalize(
    table: str,
    row_id: str,
    *,
    source: str,
    form: Callable[[str], str],
    target: str | None = None,
) -> None:
    target = target or source
    changes: dict[object, str] = {}
    holders: defaultdict[str, list[object]] = defaultdict(list)
    for identity, text, stored in pages(table, row_id, source, target):
        wanted = form(text)
        holders[wanted].append(identity)
        if wanted != stored:
            changes[identity] = wanted
    twins = {key: ids for key, ids in holders.items() if len(ids) > 1}
    if twins:
        listed = "; ".join(f"{key!r}: {ids}" for key, ids in sorted(twins.items())[:20])
        raise RuntimeError(
            f"{table}: rows that are the same {target} once normalized (by {row_id}): "
            f"{listed}. Merge or rename them, then upgrade again; nothing was changed."
        )
    statement = sa.text(f"UPDATE {table} SET {target} = :wanted WHERE {row_id} = :identity")
    for identity, wanted in changes.items():
        op.get_bind().execute(statement, {"wanted": wanted, "identity": identity})


def pages(table: str, row_id: str, source: str, target: str) -> Iterator[tuple[object, str, str]]:
    """(row id, source text, stored key) of every row, read a page at a time in id order."""
    query = sa.text(
        f"SELECT {row_id}, {source}, {target} FROM {table} "
        f"WHERE {row_id} > :after ORDER BY {row_id} LIMIT {PAGE_ROWS}"
    )
    after: object = "" if row_id == "key" else 0
    while rows := op.get_bind().execute(query, {"after": after}).all():
        yield from ((row[0], row[1], row[2]) for row in rows)
        after = rows[-1][0]
