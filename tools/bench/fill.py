"""The examples' tables filled in bulk, straight into each context's database on the node.

Rows are made by the database itself (`WITH RECURSIVE` numbering, `INSERT ... SELECT`), at most
BATCH rows per statement, each statement a transaction of its own. Every row is one the domain
would have written: owned by the bench's person, booleans 0 or 1, the users' `email_key` the
folded email, posts by existing users, transfers between existing accounts, timestamps in the
`AwareDateTime` form. Row i of each table is in group i % GROUPS: a substring filter on one
group's name matches one row in GROUPS, whatever the size.
"""

import asyncio
import time

from dqliteclient import DqliteConnection, OperationalError, connect

BATCH = 50_000
STATEMENT_TIMEOUT_SECONDS = 300.0
LOCKED_RETRIES = 100
CREATED_AT = "20260101T000000.000000+00:00"  # AwareDateTime's stored form of 2026-01-01 UTC
GROUPS = 100
GROUP = "g42"  # the group the substring filters look for

NUMBERS = "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
GROUP_OF = f"printf('g%02d', i % {GROUPS})"

# Each: (context, table, INSERT taking the numbers first..last, then the extra parameters).
STATEMENTS = (
    (
        "todos",
        "todos",
        NUMBERS + "INSERT INTO todos (owner, key, value, done) "
        f"SELECT ?, printf('todo-%07d-', i) || {GROUP_OF}, "
        f"printf('value %d ', i) || {GROUP_OF}, i % 2 FROM n",
    ),
    (
        "blog",
        "users",
        NUMBERS + "INSERT INTO users (id, owner, name, email, email_key, is_active, created_at) "
        f"SELECT i, ?, printf('user %d ', i) || {GROUP_OF}, "
        f"printf('User%d.', i) || upper({GROUP_OF}) || '@Example.org', "
        f"printf('user%d.', i) || {GROUP_OF} || '@example.org', i % 2, '{CREATED_AT}' FROM n",
    ),
    (
        # Half the posts are user 1's, so that one author's list grows with the table.
        "blog",
        "posts",
        NUMBERS + "INSERT INTO posts (id, author_id, title, content, published, created_at) "
        "SELECT i, CASE i % 2 WHEN 1 THEN 1 ELSE 1 + (i / 2) % ? END, printf('post %d', i), "
        f"'benchmark text', (i / 2) % 2, '{CREATED_AT}' FROM n",
    ),
    (
        "bank",
        "accounts",
        NUMBERS + "INSERT INTO accounts (id, owner, holder, balance_cents, version) "
        "SELECT i, ?, printf('holder %d', i), 1000000000, 0 FROM n",
    ),
    (
        # Account 1 takes part in every transfer, so that its list grows with the table.
        "bank",
        "transfers",
        NUMBERS + "INSERT INTO transfers "
        "(id, from_account, to_account, amount_cents, idempotency_key, created_at) "
        "SELECT i, CASE i % 2 WHEN 1 THEN 1 ELSE 2 + i % (? - 1) END, "
        "CASE i % 2 WHEN 1 THEN 2 + i % (? - 1) ELSE 1 END, 1 + i % 1000, "
        f"printf('fill-%07d', i), '{CREATED_AT}' FROM n",
    ),
)


def todo_key(i: int) -> str:
    return f"todo-{i:07d}-g{i % GROUPS:02d}"


def _extra(table: str, owner: str, rows: int) -> list[object]:
    if table == "posts":
        return [rows]  # authors among the users 1..rows
    if table == "transfers":
        return [rows, rows]  # the other side among the accounts 2..rows
    return [owner]


async def _fill(address: str, prefix: str, owner: str, have: int, rows: int) -> None:
    connections: dict[str, DqliteConnection] = {}
    try:
        for context, table, statement in STATEMENTS:
            if context not in connections:
                connection = await connect(
                    address, database=prefix + context, timeout=STATEMENT_TIMEOUT_SECONDS
                )
                connections[context] = connection
                # Without it libdqlite 1.11.1 fails a transaction this big: "disk I/O error".
                await connection.execute("PRAGMA cache_spill = OFF")
            for first in range(have + 1, rows + 1, BATCH):
                last = min(rows, first + BATCH - 1)
                parameters = [first, last, *_extra(table, owner, rows)]
                await _execute(connections[context], statement, parameters)
    finally:
        for connection in connections.values():
            await connection.close()


async def _execute(connection: DqliteConnection, statement: str, parameters: list[object]) -> None:
    # The app's relays write to each database now and then: a statement refused because they
    # held the write lock changed nothing, and is sent again.
    for attempt in range(LOCKED_RETRIES):
        try:
            await connection.execute(statement, parameters)
            return
        except OperationalError as error:
            if "locked" not in str(error) or attempt == LOCKED_RETRIES - 1:
                raise
            await asyncio.sleep(0.05)


def fill(address: str, prefix: str, owner: str, have: int, rows: int) -> float:
    """Add rows have+1..rows to every example table; the seconds it took."""
    started = time.perf_counter()
    asyncio.run(_fill(address, prefix, owner, have, rows))
    return time.perf_counter() - started
