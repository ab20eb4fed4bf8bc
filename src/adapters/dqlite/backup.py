"""Online backup of a dqlite database to an ordinary SQLite file, and restore from one.

The leader hands over its database file and WAL in one DUMP request: a consistent copy taken
while the cluster keeps serving. The copy is folded into a single SQLite file (VACUUM INTO),
checked, and renamed into place, so a failed backup leaves no half-written file. Its schema
revision is the one in its alembic_version table. Each bounded context's database is backed up
to a file of its own.

A restore brings the target database to the backup's revision, copies every table in batches
that respect the engine's 255-parameter limit, then migrates to head.
"""

import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from adapters.contexts import Context
from adapters.dqlite.dialing import DialFunc
from adapters.dqlite.engine import MAX_BOUND_PARAMETERS, create_dqlite_sync_engine
from adapters.dqlite.migrations import alembic_config, known_revisions
from adapters.outbox import OutboxEventRow, OutboxLeaseRow

VERSION_TABLE = "alembic_version"
# State of the running cluster, not data: a restore neither copies it nor counts it as content
# (the target's relay holds its own lease).
CLUSTER_STATE = {OutboxLeaseRow.__tablename__}

type Progress = Callable[[str, int, int], None]  # table, rows copied, rows in all


class BackupError(RuntimeError):
    """The backup cannot be taken, or the file cannot be restored (the message says why)."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    revision: str
    rows: dict[str, int]  # table -> rows, in copy order


def write_backup(
    files: dict[str, bytes], database: str, context: Context, path: Path
) -> BackupFile:
    """Fold a DUMP's database (`context`'s) and WAL into one SQLite file at `path`,
    atomically."""
    if database not in files:
        raise BackupError(f"the leader's dump holds no database {database!r}: {sorted(files)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".backup-") as scratch:
        for name, data in files.items():
            (Path(scratch) / name).write_bytes(data)
        folded = Path(scratch) / "folded.sqlite"
        source = sqlite3.connect(Path(scratch) / database)
        try:
            source.execute("VACUUM INTO ?", (str(folded),))
        finally:
            source.close()
        checked = read_backup(folded, context)
        with folded.open("rb") as written:
            os.fsync(written.fileno())
        folded.replace(path)  # atomic: the old file or the new one, never half of one
    return BackupFile(path, checked.revision, checked.rows)


def read_backup(path: Path, context: Context) -> BackupFile:
    """What a backup file holds; BackupError if it is not a sound backup of `context`'s
    database."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            if db.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{path} is damaged: PRAGMA integrity_check fails")
            tables = [
                name
                for (name,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            if VERSION_TABLE not in tables:
                raise BackupError(f"{path} is not a backup of this service: no schema revision")
            revision = db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
            rows = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not an SQLite database: {error}") from error
    # Every history begins at 0001: the tables, not the revision, tell the contexts apart.
    foreign = sorted(set(tables) - {VERSION_TABLE, *context.metadata.tables})
    if foreign:
        raise BackupError(
            f"{path} is not a backup of the {context.name} context: it holds {foreign}"
        )
    if revision is None or revision[0] not in known_revisions(context.name):
        raise BackupError(
            f"{path} is at schema revision {revision}, unknown to the {context.name} context"
        )
    for table in (VERSION_TABLE, *CLUSTER_STATE):
        rows.pop(table, None)
    return BackupFile(path, revision[0], rows)


def filled_tables(sync_url: str, dial: DialFunc | None = None) -> dict[str, int]:
    """The tables of the database at `sync_url` that hold rows (cluster state aside), and how
    many."""
    engine = create_dqlite_sync_engine(sync_url, connect_args={"dial_func": dial} if dial else {})
    try:
        return _tables_with_rows(engine)
    finally:
        engine.dispose()


def restore(
    backup: BackupFile,
    sync_url: str,
    context: Context,
    *,
    replace: bool = False,
    dial: DialFunc | None = None,
    progress: Progress | None = None,
    redeliver_from_ms: int | None = None,
) -> None:
    """Copy `backup` into `context`'s database at `sync_url`, then migrate it to head.

    Events of its outbox delivered at or after `redeliver_from_ms` are made undelivered: the
    effects of their handlers, in other contexts' databases, may be missing from those
    databases' backups, taken before (handlers are idempotent, so a second delivery is safe).
    """
    connect_args = {"dial_func": dial} if dial is not None else {}
    engine = create_dqlite_sync_engine(sync_url, connect_args=connect_args)
    try:
        filled = _tables_with_rows(engine)
        if filled and not replace:
            listed = ", ".join(f"{t} ({n} rows)" for t, n in filled.items())
            raise BackupError(f"the target database is not empty: {listed}; pass --replace")
        config = alembic_config(sync_url, context.name, dial)
        if filled:
            _empty(engine)
        if _revision(engine) is not None:  # empty, but maybe at another revision
            command.downgrade(config, "base")
        command.upgrade(config, backup.revision)
        _copy_tables(backup, engine, progress or _no_progress)
        command.upgrade(config, "heads")
        if redeliver_from_ms is not None:
            _redeliver(engine, redeliver_from_ms)
    finally:
        engine.dispose()


def _redeliver(engine: Engine, from_ms: int) -> None:
    redelivered = (
        update(OutboxEventRow)
        .where(OutboxEventRow.delivered_at_ms >= from_ms)
        .values(delivered_at_ms=None)
    )
    with engine.begin() as connection:
        connection.execute(redelivered)


def _tables_with_rows(engine: Engine) -> dict[str, int]:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        counts = {
            name: connection.scalar(select(func.count()).select_from(table)) or 0
            for name, table in tables.tables.items()
            if name != VERSION_TABLE and name not in CLUSTER_STATE
        }
    return {name: count for name, count in counts.items() if count}


def _empty(engine: Engine) -> None:
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        for table in reversed(tables.sorted_tables):
            if table.name != VERSION_TABLE and table.name not in CLUSTER_STATE:
                connection.execute(delete(table))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            revision = connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        except Exception:  # no version table yet: a database never migrated
            connection.rollback()
            return None
    return None if revision is None else str(revision)


def _copy_tables(backup: BackupFile, engine: Engine, progress: Progress) -> None:
    target = MetaData()
    target.reflect(engine)
    missing = sorted(set(backup.rows) - set(target.tables))
    if missing:
        raise BackupError(f"the target has no table {missing} at revision {backup.revision}")
    order = [
        t for t in target.sorted_tables if t.name in backup.rows and t.name not in CLUSTER_STATE
    ]
    with sqlite3.connect(f"file:{backup.path}?mode=ro", uri=True) as source:
        for table in order:
            _copy_table(source, table, engine, backup.rows[table.name], progress)


def _copy_table(
    source: sqlite3.Connection, table: Table, engine: Engine, total: int, progress: Progress
) -> None:
    columns = [column.name for column in table.columns]
    per_batch = max(1, MAX_BOUND_PARAMETERS // len(columns))
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor = source.execute(f'SELECT {quoted} FROM "{table.name}" ORDER BY rowid')
    copied = 0
    while batch := cursor.fetchmany(per_batch):
        rows: list[dict[str, Any]] = [dict(zip(columns, row, strict=True)) for row in batch]
        with engine.begin() as connection:  # one multi-row INSERT per batch
            connection.execute(insert(table).values(rows))
        copied += len(rows)
        progress(table.name, copied, total)


def _no_progress(table: str, copied: int, total: int) -> None:
    pass


def terminal_progress(table: str, copied: int, total: int) -> None:
    """A line on stderr that counts up, when stderr is a terminal."""
    if sys.stderr.isatty():
        end = "\n" if copied >= total else ""
        print(f"\r{table}: {copied}/{total} rows", end=end, file=sys.stderr, flush=True)
