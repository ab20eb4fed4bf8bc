"""Online backup of a dqlite database to an ordinary SQLite file, and restore from one.

The leader hands over its database file and WAL in one DUMP request: a consistent copy taken
while the cluster keeps serving. The copy is folded into a single SQLite file (VACUUM INTO),
checked, and renamed into place, so a failed backup leaves no half-written file. Its schema
revision is the one in its alembic_version table. Each bounded context's database is backed up
to a file of its own.

A restore brings the target database to the backup's revision, copies every table, then
migrates to head. Rows go over as one JSON parameter per statement, expanded by json_each
(libdqlite 1.11 reads at most 255 bound parameters correctly), a few MB a transaction.

Virtual tables (the trigram indexes) and their shadow tables are derived data: their base
tables' triggers keep them in step, so they are neither listed, counted, emptied nor copied.
"""

import asyncio
import io
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from dqlitewire.codec import MessageEncoder
from dqlitewire.constants import ResponseType
from dqlitewire.messages.base import Header
from dqlitewire.messages.requests import DumpRequest
from dqlitewire.messages.responses import FailureResponse
from sqlalchemy import (
    ColumnClause,
    Engine,
    Executable,
    MetaData,
    Table,
    TextClause,
    delete,
    func,
    insert,
    literal_column,
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

# The leader answers a DUMP with the database file and its WAL in one message, built whole in
# its memory; the backup reads it whole into memory too, before writing it out. So this bounds
# the largest database, file and WAL, that can be backed up, and the memory a backup takes:
# the CLI holds one database while it dumps the next (measured at 10^6 rows a table: 768 MB
# of RSS at most, for files of 414 MiB then 125 MiB). Raise it where the operator's machine,
# and the leader, can afford more.
DUMP_MAX_BYTES = 2**30
DUMP_SILENCE_SECONDS = 30.0  # the leader builds its answer before sending a byte of it
# The tables of a database, as SQLite 3.40 lists them: a virtual table's type is "virtual",
# its shadow tables' (an FTS5 index's _data, _idx, _docsize, _config) "shadow".
BASE_TABLES = (
    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
    "AND substr(name, 1, 7) != 'sqlite_' ORDER BY name"
)
# JSON text per INSERT, one transaction each (so one raft entry, with the pages the rows
# change in the table, its indexes and a trigram index its triggers fill).
COPY_BATCH_BYTES = 2**21
FIRST_BATCH_ROWS = 1_000  # then as many as COPY_BATCH_BYTES holds, judged by the last batch
DELETE_BATCH_ROWS = 10_000  # rows a transaction deletes when a restore replaces a database
LARGEST_REAL = "1.7976931348623157e308"


class BackupError(RuntimeError):
    """The backup cannot be taken, or the file cannot be restored (the message says why)."""


class DumpTooLarge(BackupError):
    """The leader's DUMP answer is over DUMP_MAX_BYTES."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    revision: str
    rows: dict[str, int]  # table -> rows, in copy order


async def dump(address: str, database: str, dial: DialFunc) -> dict[str, bytes]:
    """The files of `database` (its file and WAL, by name) from the node at `address`, which
    must lead; DumpTooLarge if they are over DUMP_MAX_BYTES, before any is read.

    Read here rather than by dqliteclient, whose wire decoder (dqlite-wire 0.8) refuses any
    file over 64 MiB whatever its max_message_size, and wants the whole answer within one
    request's timeout."""
    reader, writer = await dial(address)
    try:
        request = DumpRequest(name=database).encode()
        writer.write(MessageEncoder().encode_handshake() + request)
        await writer.drain()
        header = Header.decode(await _received(reader, 8))
        if header.msg_type == ResponseType.FAILURE:
            failure = FailureResponse.decode_body(await _received(reader, header.body_size))
            raise BackupError(f"the leader refused to dump {database!r}: {failure.message}")
        if header.msg_type != ResponseType.FILES:
            raise BackupError(f"the leader answered a dump with message type {header.msg_type}")
        if header.body_size > DUMP_MAX_BYTES:
            raise DumpTooLarge(_too_large(database, header.body_size))
        return await _files(reader, header.body_size)
    finally:
        writer.close()


def _too_large(database: str, size: int) -> str:
    return (
        f"the {database} database is {_in_units(size)} with its WAL, over the "
        f"{_in_units(DUMP_MAX_BYTES)} a backup can take: the leader sends it in one message, "
        "which the backup holds in memory whole (DUMP_MAX_BYTES, in adapters/dqlite/backup.py, "
        "sets that limit)"
    )


def _in_units(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size / 2**10:,.1f} KiB"


async def _files(reader: asyncio.StreamReader, size: int) -> dict[str, bytes]:
    """The body of a FILES answer of `size` bytes: a count, then each file's name (text,
    NUL-terminated and padded to 8 bytes), its size and its bytes."""
    count = _uint64(await _received(reader, 8))
    left, files = size - 8, {}
    for _ in range(count):
        name = b""
        while b"\0" not in name and len(name) < left:
            name += await _received(reader, 8)
        length = _uint64(await _received(reader, 8))
        left -= len(name) + 8 + length
        if b"\0" not in name or left < 0:
            raise BackupError("the leader's dump answer is malformed")
        files[name[: name.index(b"\0")].decode()] = await _received(reader, length)
    return files


def _uint64(data: bytes) -> int:
    return int.from_bytes(data, "little")


async def _received(reader: asyncio.StreamReader, size: int) -> bytes:
    """The next `size` bytes from the leader; BackupError if it hangs up or goes silent."""
    received = io.BytesIO()
    while received.tell() < size:
        try:
            part = await asyncio.wait_for(reader.read(size - received.tell()), DUMP_SILENCE_SECONDS)
        except TimeoutError as error:
            silent = f"{DUMP_SILENCE_SECONDS:.0f} s"
            raise BackupError(f"the leader sent nothing for {silent} during a dump") from error
        if not part:
            raise BackupError("the leader closed the connection during a dump")
        received.write(part)
    # CPython hands over the buffer itself, unshared: a file is held once, where joining the
    # parts held it twice for a moment (measured: 300 MiB read, 320 MB RSS at most, not 620).
    return received.getvalue()


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
            tables = [name for (name,) in db.execute(BASE_TABLES)]
            if VERSION_TABLE not in tables:
                raise BackupError(f"{path} is not a backup of this service: no schema revision")
            revision = db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
            rows = {
                t: db.execute(f"SELECT count(*) FROM {_quoted(t)}").fetchone()[0] for t in tables
            }
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


def _base_tables(engine: Engine) -> MetaData:
    """The database's tables, reflected, but for virtual tables and their shadow tables."""
    with engine.connect() as connection:
        names = list(connection.execute(text(BASE_TABLES)).scalars())
    tables = MetaData()
    tables.reflect(engine, only=names)
    return tables


def _holds_data(table: str) -> bool:
    return table != VERSION_TABLE and table not in CLUSTER_STATE


def _tables_with_rows(engine: Engine) -> dict[str, int]:
    tables = _base_tables(engine)
    with engine.connect() as connection:
        counts = {
            name: connection.scalar(select(func.count()).select_from(table)) or 0
            for name, table in tables.tables.items()
            if _holds_data(name)
        }
    return {name: count for name, count in counts.items() if count}


def _empty(engine: Engine) -> None:
    """Delete the rows of every table but the schema revision and cluster state, those that
    refer to others first. Deleting a base table's rows fires the triggers that take them
    out of its trigram index (deleting from the index's own tables would corrupt it)."""
    for table in reversed(_base_tables(engine).sorted_tables):
        if _holds_data(table.name):
            _delete_rows(engine, table)


def _delete_rows(engine: Engine, table: Table) -> None:
    """Delete every row of `table`, DELETE_BATCH_ROWS a transaction (each is a raft entry of
    the pages it changes)."""
    if not _has_rowid(table):
        with engine.begin() as connection:
            connection.execute(delete(table))
        return
    rowid: ColumnClause[int] = literal_column("rowid")
    batch = delete(table).where(
        rowid.in_(select(rowid).select_from(table).limit(DELETE_BATCH_ROWS))
    )
    while True:
        with engine.begin() as connection:
            if connection.execute(batch).rowcount == 0:
                return


def _has_rowid(table: Table) -> bool:
    return bool(table.dialect_options["sqlite"]["with_rowid"])


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            revision = connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        except Exception:  # no version table yet: a database never migrated
            connection.rollback()
            return None
    return None if revision is None else str(revision)


def _copy_tables(backup: BackupFile, engine: Engine, progress: Progress) -> None:
    target = _base_tables(engine)
    missing = sorted(set(backup.rows) - set(target.tables))
    if missing:
        raise BackupError(f"the target has no table {missing} at revision {backup.revision}")
    order = [t for t in target.sorted_tables if t.name in backup.rows and _holds_data(t.name)]
    with sqlite3.connect(f"file:{backup.path}?mode=ro", uri=True) as source:
        for table in order:
            _copy_table(source, table, engine, backup.rows[table.name], progress)


def _copy_table(
    source: sqlite3.Connection, table: Table, engine: Engine, total: int, progress: Progress
) -> None:
    """Insert `table`'s rows from `source`, in the order they were stored, a transaction a
    batch (the rows a base table's triggers add to its trigram index go with them)."""
    columns = ", ".join(_quoted(column.name) for column in table.columns)
    in_order = " ORDER BY rowid" if _has_rowid(table) else ""
    rows = source.execute(f"SELECT {columns} FROM {_quoted(table.name)}{in_order}")
    batches = _as_json(table, rows) if _fits_json(source, table) else _as_parameters(table, rows)
    copied = 0
    for statement, count in batches:
        with engine.begin() as connection:
            connection.execute(statement)
        copied += count
        progress(table.name, copied, total)


def _fits_json(source: sqlite3.Connection, table: Table) -> bool:
    """Whether JSON carries every value of `table` exactly: no blob (JSON has none, and
    SQLite 3.40 no unhex() to decode one), no infinite real (JSON has none either), no text
    holding a NUL (SQLite's JSON functions cut it there; bound, it is refused, not cut)."""
    unfit = " OR ".join(
        f"typeof({c}) = 'blob' OR (typeof({c}) = 'real' AND abs({c}) > {LARGEST_REAL}) "
        f"OR (typeof({c}) = 'text' AND instr({c}, char(0)) > 0)"
        for c in (_quoted(column.name) for column in table.columns)
    )
    found = source.execute(f"SELECT EXISTS (SELECT 1 FROM {_quoted(table.name)} WHERE {unfit})")
    return bool(found.fetchone() == (0,))


def _as_json(table: Table, rows: sqlite3.Cursor) -> Iterator[tuple[Executable, int]]:
    """INSERTs of about COPY_BATCH_BYTES of rows each, as one JSON text (an array of rows,
    each an array of values), and how many rows each holds. Python writes each float so that
    it reads back the same (repr), and SQLite 3.40's JSON reads it exactly (no mismatch in
    400,000 random ones tried, subnormals among them)."""
    statement = _insert_from_json(table)
    size = FIRST_BATCH_ROWS
    while batch := rows.fetchmany(size):
        encoded = json.dumps(batch, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        yield statement.bindparams(rows=encoded), len(batch)
        size = max(1, len(batch) * COPY_BATCH_BYTES // len(encoded))


def _insert_from_json(table: Table) -> TextClause:
    names = ", ".join(_quoted(column.name) for column in table.columns)
    values = ", ".join(f"value ->> {i}" for i in range(len(table.columns)))
    into = f"INSERT INTO {_quoted(table.name)} ({names})"
    return text(f"{into} SELECT {values} FROM json_each(:rows)")


def _as_parameters(table: Table, rows: sqlite3.Cursor) -> Iterator[tuple[Executable, int]]:
    """Multi-row INSERTs of at most MAX_BOUND_PARAMETERS values each (slow: a few thousand
    rows a second), and how many rows each holds."""
    columns = [column.name for column in table.columns]
    per_batch = max(1, MAX_BOUND_PARAMETERS // len(columns))
    while batch := rows.fetchmany(per_batch):
        values: list[dict[str, Any]] = [dict(zip(columns, row, strict=True)) for row in batch]
        yield insert(table).values(values), len(batch)


def _quoted(name: str) -> str:
    """`name` as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _no_progress(table: str, copied: int, total: int) -> None:
    pass
