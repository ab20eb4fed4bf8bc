"""Trigram indexes for substring filters: `<table>_search`, an FTS5 table over some text
columns of `<table>`, with external content (it holds the index, not the text), kept in step
by triggers on `<table>`.

A table's model declares its index (`search_index`), so that `create_all` makes it as the
context's migration does; the lists look fragments up in it (`Search`). The index and its
shadow tables are derived data: schema comparisons and backups leave them out
(`derived_tables`), and copying or deleting the table's rows updates them.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    MetaData,
    Select,
    Table,
    event,
    literal_column,
    select,
    text,
)
from sqlalchemy import table as table_named
from sqlalchemy.orm import DeclarativeBase


def search_index(row: type[DeclarativeBase], *columns: str) -> None:
    """Declare the trigram index of `row`'s table over `columns`."""
    table = row.__table__
    assert isinstance(table, Table)
    assert set(columns) <= set(table.c.keys()), columns
    _declared[table.name] = columns


# By table name (unique across the contexts), so that each context's copy of the table has
# it too. Not in Table.info: Alembic would write that into the table's migration, where
# op.create_table would then make the index as well as the statements that follow it.
_declared: dict[str, tuple[str, ...]] = {}


def declared_columns(table: Table) -> tuple[str, ...]:
    """The columns `table`'s model declares a trigram index over (none: no index)."""
    return _declared.get(table.name, ())


@event.listens_for(MetaData, "after_create")
def _make_search_indexes(
    metadata: MetaData, connection: Connection, tables: Sequence[Table] = (), **options: Any
) -> None:
    """`create_all` makes the indexes of the tables it made (a migration writes its own)."""
    for table in tables:
        for statement in create_statements(table.name, declared_columns(table)):
            connection.execute(text(statement))


@event.listens_for(MetaData, "before_drop")
def _drop_search_indexes(
    metadata: MetaData, connection: Connection, tables: Sequence[Table] = (), **options: Any
) -> None:
    for table in tables:
        if declared_columns(table):
            connection.execute(text(f"DROP TABLE IF EXISTS {table.name}_search"))


def create_statements(table: str, columns: Sequence[str]) -> list[str]:
    """The SQL that makes `table`'s index (case-sensitive: it finds what instr() finds), its
    triggers, and fills it from the rows already stored; none without `columns`.

    Each write of the table then changes about 3 times the pages (measured with SQLite's WAL,
    a one-row INSERT: 3.5 pages without, 9.7 with): that is what dqlite replicates and keeps
    in its raft log. `columnsize=0` (no per-row token counts: no ranking is done) saves one.
    """
    if not columns:
        return []
    index, listed = f"{table}_search", ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    add = f"INSERT INTO {index} (rowid, {listed}) VALUES (new.rowid, {new});"
    remove = f"INSERT INTO {index} ({index}, rowid, {listed}) VALUES ('delete', old.rowid, {old});"
    return [
        f"CREATE VIRTUAL TABLE {index} USING fts5({listed}, content='{table}', "
        "columnsize=0, tokenize='trigram case_sensitive 1')",
        f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {index}_update AFTER UPDATE OF {listed} ON {table} "
        f"BEGIN {remove} {add} END",
        f"INSERT INTO {index} ({index}) VALUES ('rebuild')",
    ]


def drop_statements(table: str) -> list[str]:
    index = f"{table}_search"
    # IF EXISTS: dropping the table itself, earlier in the same migration, drops its triggers.
    events = ("insert", "delete", "update")
    triggers = [f"DROP TRIGGER IF EXISTS {index}_{event}" for event in events]
    return [*triggers, f"DROP TABLE {index}"]


def made_search_indexes(connection: Connection) -> dict[str, tuple[str, ...]]:
    """The trigram indexes the database holds: table -> the columns its index covers."""
    made = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE '%_search'")
    )
    return {
        name.removesuffix("_search"): tuple(found.group(1).split(", "))
        for name, sql in made
        if (found := _INDEXED_COLUMNS.match(sql))
    }


_INDEXED_COLUMNS = re.compile(r"CREATE VIRTUAL TABLE \w+_search USING fts5\((.+?), content=")


def derived_tables(connection: Connection) -> set[str]:
    """The database's virtual tables (the trigram indexes) and their shadow tables."""
    listed = connection.execute(
        text("SELECT name FROM pragma_table_list WHERE type IN ('virtual', 'shadow')")
    )
    return set(listed.scalars())


@dataclass(frozen=True)
class Search:
    """Fragments to look up in `table`'s trigram index, each in its column."""

    table: str
    fragments: Mapping[str, str]  # column -> fragment (each domain.paging.searchable)

    def rowids(self) -> Select[tuple[int]]:
        """The rowids of the rows holding every fragment, in rowid order."""
        index = f"{self.table}_search"
        query = " AND ".join(
            f'{{{column}}} : "{fragment.replace('"', '""')}"'  # an FTS5 phrase, quoted
            for column, fragment in self.fragments.items()
        )
        found = select(literal_column("rowid", Integer)).select_from(table_named(index))
        return found.where(literal_column(index).op("MATCH")(query))
