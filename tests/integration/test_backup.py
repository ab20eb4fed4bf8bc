"""Backup while clients write, and restore into a fresh cluster, through the operators' CLI.

A backup is a folder with one SQLite file per bounded context (`<context>.sqlite`). The CLI
backs up the project's contexts, whichever they are: the tests write rows every context's
database has, its outbox's (events marked delivered, so no relay touches them), and need no
example aggregate. The tests' own ledger is served beside them, but has no Alembic history, so
no backup holds it.
"""

import asyncio
import math
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dqlitedbapi
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import make_url, text

from adapters.contexts import CONTEXTS, Context
from adapters.dqlite import backup as backups
from adapters.dqlite.admin import ClusterAdmin
from adapters.dqlite.backup import BackupFile, DumpTooLarge, filled_tables, restore, write_backup
from adapters.dqlite.engine import create_dqlite_sync_engine
from adapters.dqlite.leader import cluster_client
from adapters.dqlite.migrations import head_revisions, upgrade_to_head
from adapters.dqlite.node import DqliteNode
from tests.integration.cluster import Cluster, running_cluster
from tests.integration.process import ROOT, AppProcess
from tests.integration.test_cluster_faults import lead_with

WRITING_BEFORE_SECONDS = 2.0
WRITING_AFTER_SECONDS = 1.0
PROBE_EVENT = "BackupProbe"  # the name of no event class: the tests' own rows
# Long enough before any backup that a restore leaves such an event delivered (it delivers
# again only those delivered from shortly before the backup began).
LONG_AGO_MS = 3_600_000

every_context = pytest.mark.parametrize("context", CONTEXTS, ids=[c.name for c in CONTEXTS])


def cli(addresses: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "entrypoints.cli", "--cluster", ",".join(addresses)]
    return subprocess.run(
        [*command, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def file_of(folder: Path, context: Context) -> Path:
    return folder / f"{context.name}.sqlite"


# Trigram indexes (virtual tables, and their shadow tables) aside: they are derived from their
# tables' rows, rebuilt by triggers as a restore copies those rows, so their pages differ
# from the backup's; they are compared by what they answer.
EVERY_TABLE = (
    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
    "AND substr(name, 1, 7) != 'sqlite_'"
)
# The relay's lease belongs to the running cluster, not to its data: a restore keeps the
# target's, and it changes whenever the relay renews it.
TABLES = f"{EVERY_TABLE} AND name != 'outbox_lease'"

type Rows = dict[str, list[tuple[Any, ...]]]  # table -> its rows, sorted


def tables_of_file(path: Path) -> Rows:
    with sqlite3.connect(path) as db:
        names = [name for (name,) in db.execute(TABLES)]
        return {n: sorted(db.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}


def tables_of_node(address: str, database: str) -> Rows:
    connection = dqlitedbapi.connect(address, database=database)
    try:
        cursor = connection.cursor()
        cursor.execute(TABLES)
        names = [name for (name,) in cursor.fetchall()]
        found = {}
        for name in names:
            cursor.execute(f'SELECT * FROM "{name}"')
            found[name] = sorted(tuple(row) for row in cursor.fetchall())
        return found
    finally:
        connection.close()


def every_database_of(address: str) -> dict[str, Rows]:
    """What each context's database holds, read on the node at `address` (it must lead)."""
    return {context.name: tables_of_node(address, context.name) for context in CONTEXTS}


def add_event(
    connection: dqlitedbapi.Connection,
    stream: str,
    *,
    parked: bool = False,
    attempts: int = 1,
    error: str | None = None,
    delivered_ago_ms: int = LONG_AGO_MS,
) -> int:
    """Store an event of the tests' own in the outbox of `connection`'s database, delivered
    `delivered_ago_ms` ago unless `parked`, and commit; its id."""
    now_ms = int(time.time() * 1000)
    cursor = connection.cursor()
    cursor.execute(
        "INSERT INTO outbox_events (name, stream, payload, recorded_at, attempts, "
        "delivered_at_ms, parked_at_ms, last_error) VALUES (?, ?, '{}', ?, ?, ?, ?, ?)",
        (
            PROBE_EVENT,
            stream,
            "2026-01-01T00:00:00+00:00",
            attempts,
            None if parked else now_ms - delivered_ago_ms,
            now_ms if parked else None,
            error,
        ),
    )
    connection.commit()
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def add_events(address: str, context: Context, count: int = 1) -> None:
    connection = dqlitedbapi.connect(address, database=context.name)
    try:
        for _ in range(count):
            add_event(connection, f"probe-{uuid.uuid4().hex}")
    finally:
        connection.close()


@dataclass
class OutboxWriter:
    """A client per context storing events in its outbox, one transaction each, on the node at
    `address`; records when each commit was acknowledged."""

    address: str
    acknowledged: dict[str, dict[str, float]] = field(default_factory=dict)  # ctx -> stream -> t
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for context in CONTEXTS:
            self.acknowledged[context.name] = {}
            thread = threading.Thread(target=self._write, args=(context,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def acknowledged_before(self, moment: float) -> dict[str, set[str]]:
        return {
            name: {stream for stream, at in streams.items() if at < moment}
            for name, streams in self.acknowledged.items()
        }

    def _write(self, context: Context) -> None:
        connection = dqlitedbapi.connect(self.address, database=context.name)
        try:
            while not self._stop.is_set():
                stream = f"probe-{uuid.uuid4().hex}"
                try:
                    add_event(connection, stream)
                except dqlitedbapi.Error as error:
                    self.failures.append(f"{context.name}: {error!r}")
                    time.sleep(0.05)
                    continue
                self.acknowledged[context.name][stream] = time.time()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("backup-source")) as cluster:
        yield cluster


@dataclass(frozen=True)
class Taken:
    folder: Path
    cli: subprocess.CompletedProcess[str]
    acknowledged_before: dict[str, set[str]]  # context -> streams committed before the backup
    failed_writes: list[str]


@pytest.fixture(scope="module")
def taken(source: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Taken:
    """A backup taken while clients write to every context's database: the folder, and what
    was acknowledged before the backup started."""
    writer = OutboxWriter(source.leader().node_address)
    folder = tmp_path_factory.mktemp("backups") / "app-backup"
    writer.start()
    try:
        time.sleep(WRITING_BEFORE_SECONDS)
        started = time.time()
        done = cli(source.addresses, "backup", folder)
        time.sleep(WRITING_AFTER_SECONDS)
    finally:
        writer.stop()
    return Taken(folder, done, writer.acknowledged_before(started), writer.failures)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of three nodes that has never held data."""
    with running_cluster(tmp_path / "fresh") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """An app on a node of its own, shared by the tests that do not need it empty."""
    app = AppProcess(tmp_path_factory.mktemp("target"))
    try:
        app.start()
        yield app
    finally:
        app.stop()


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[AppProcess]:
    """An app on a node of its own that has never held data (every database at head)."""
    app = AppProcess(tmp_path / "empty")
    try:
        app.start()
        yield app
    finally:
        app.stop()


def copy_of(taken: Taken, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(taken.folder, folder)
    return folder


def test_a_backup_is_a_folder_with_a_file_per_context_each_holding_only_that_context_s_tables(
    taken: Taken,
) -> None:
    assert taken.cli.returncode == 0, taken.cli.stderr
    assert sorted(p.name for p in taken.folder.iterdir()) == sorted(
        ["backup.json", *(f"{c.name}.sqlite" for c in CONTEXTS)]
    ), "scratch files were left behind, or a file is missing"
    for context in CONTEXTS:
        path = file_of(taken.folder, context)
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            [(revision,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
            tables = {name for (name,) in db.execute(EVERY_TABLE)}
        assert revision in head_revisions(context.name)
        assert f"{path}: revision {revision}, " in taken.cli.stdout
        expected = set(context.metadata.tables) | {"alembic_version"}
        assert tables == expected, context.name


def test_a_backup_fails_none_of_the_writes_made_while_it_is_taken(taken: Taken) -> None:
    assert taken.cli.returncode == 0, taken.cli.stderr
    assert all(taken.acknowledged_before.values()), "a context's client wrote nothing"
    assert taken.failed_writes == []


@every_context
def test_a_backup_taken_while_clients_write_holds_every_row_a_context_acknowledged_before_it(
    taken: Taken, context: Context
) -> None:
    assert taken.cli.returncode == 0, taken.cli.stderr
    with sqlite3.connect(file_of(taken.folder, context)) as db:
        streams = {stream for (stream,) in db.execute("SELECT stream FROM outbox_events")}

    acknowledged = taken.acknowledged_before[context.name]
    assert acknowledged, f"nothing was acknowledged in {context.name} before the backup"
    assert acknowledged - streams == set()


def test_a_backup_restored_into_a_fresh_cluster_gives_every_table_row_for_row_on_every_node(
    taken: Taken, fresh: Cluster
) -> None:
    done = cli(fresh.addresses, "restore", taken.folder)

    assert done.returncode == 0, done.stderr
    for context in CONTEXTS:
        assert f"restored {context.name}: " in done.stdout
    backup = {c.name: tables_of_file(file_of(taken.folder, c)) for c in CONTEXTS}
    for app in fresh.apps.values():  # each node's own copy, read while that node leads
        assert lead_with(fresh, app), f"node {app.node_id} could not take the lead"
        assert every_database_of(app.node_address) == backup, f"node {app.node_id}"


def test_a_restore_into_databases_that_hold_data_is_refused_unless_told_to_replace(
    taken: Taken, target: AppProcess
) -> None:
    for context in CONTEXTS:
        add_events(target.node_address, context)

    refused = cli([target.node_address], "restore", taken.folder)
    replaced = cli([target.node_address], "restore", taken.folder, "--replace")

    assert refused.returncode == 1
    assert "not empty" in refused.stderr
    assert "--replace" in refused.stderr
    assert replaced.returncode == 0, replaced.stderr
    for context in CONTEXTS:
        stored = tables_of_node(target.node_address, context.name)
        assert stored == tables_of_file(file_of(taken.folder, context)), context.name


def missing(path: Path) -> None:
    path.unlink()


def foreign_database(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")


def at_unknown_revision(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def not_sqlite(path: Path) -> None:
    path.write_bytes(b"not a database at all" * 100)


# Each damage once, to the first context's file (0) or to the last's (-1): both ends of the
# folder. (A fork, with no context yet, has no case.)
DAMAGES = [
    (missing, "is not a file", 0),
    (not_sqlite, "not an SQLite database", -1),
    (truncated, "not an SQLite database", 0),
    (foreign_database, "no schema revision", -1),  # an SQLite file of another program
    (at_unknown_revision, "unknown to the", 0),
]


@pytest.mark.parametrize(
    ("damage", "says", "context"),
    [(damage, says, CONTEXTS[end]) for damage, says, end in DAMAGES if CONTEXTS],
    ids=[damage.__name__ for damage, _, _ in DAMAGES if CONTEXTS],
)
def test_a_folder_with_a_context_s_file_missing_or_unsound_is_refused_and_no_database_changes(
    taken: Taken,
    target: AppProcess,
    tmp_path: Path,
    context: Context,
    damage: Callable[[Path], None],
    says: str,
) -> None:
    folder = copy_of(taken, tmp_path)
    path = file_of(folder, context)
    damage(path)
    for each in CONTEXTS:  # so that a restore would have something to undo in every database
        add_events(target.node_address, each)
    before = every_database_of(target.node_address)

    done = cli([target.node_address], "restore", folder, "--replace")

    assert done.returncode == 1
    assert says in done.stderr
    assert str(path) in done.stderr, "the message does not name the file"
    assert "Traceback" not in done.stderr
    assert every_database_of(target.node_address) == before


@pytest.mark.skipif(len(CONTEXTS) < 2, reason="needs two contexts")
def test_a_folder_holding_another_context_s_file_in_a_context_s_place_is_refused_unchanged(
    taken: Taken, target: AppProcess, tmp_path: Path
) -> None:
    folder = copy_of(taken, tmp_path)
    first, last = CONTEXTS[0], CONTEXTS[-1]
    shutil.copy(file_of(folder, first), file_of(folder, last))
    for each in CONTEXTS:
        add_events(target.node_address, each)
    before = every_database_of(target.node_address)

    done = cli([target.node_address], "restore", folder, "--replace")

    assert done.returncode == 1
    assert every_database_of(target.node_address) == before
    assert str(file_of(folder, last)) in done.stderr


@pytest.mark.skipif(len(CONTEXTS) < 2, reason="needs two contexts")
def test_a_restore_refused_for_one_database_that_holds_data_changes_no_other(
    taken: Taken, empty_app: AppProcess
) -> None:
    add_events(empty_app.node_address, CONTEXTS[-1])
    before = every_database_of(empty_app.node_address)

    done = cli([empty_app.node_address], "restore", taken.folder)

    assert done.returncode == 1
    assert "not empty" in done.stderr
    assert every_database_of(empty_app.node_address) == before


def delivered_at(address: str, context: Context) -> dict[str, int | None]:
    """Each event's stream, and when it was delivered (None: not yet)."""
    connection = dqlitedbapi.connect(address, database=context.name)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT stream, delivered_at_ms FROM outbox_events")
        return {stream: delivered for stream, delivered in cursor.fetchall()}
    finally:
        connection.close()


def test_a_restore_delivers_again_the_events_delivered_since_shortly_before_the_backup(
    tmp_path: Path,
) -> None:
    # The databases are copied one after another: an event delivered between two copies may
    # have its handler's effect missing from a database copied before. Delivering it again
    # after a restore puts the effect back (handlers are idempotent).
    source, target = AppProcess(tmp_path / "source"), AppProcess(tmp_path / "target")
    for app in (source, target):
        app.extra_env["APP_OUTBOX_RELAY"] = "false"  # so that only the restore changes them
    try:
        source.start()
        target.start()
        for context in CONTEXTS:
            connection = dqlitedbapi.connect(source.node_address, database=context.name)
            try:
                add_event(connection, "lately", delivered_ago_ms=1_000)
                add_event(connection, "long-ago")
            finally:
                connection.close()
        assert cli([source.node_address], "backup", tmp_path / "backup").returncode == 0

        done = cli([target.node_address], "restore", tmp_path / "backup")

        assert done.returncode == 0, done.stderr
        for context in CONTEXTS:
            restored = delivered_at(target.node_address, context)
            assert restored["lately"] is None, context.name
            assert restored["long-ago"] is not None, context.name
    finally:
        source.stop()
        target.stop()


# One database backed up and restored in this process, on the session's node: quick enough to
# try what the runs of the CLI on clusters above cannot afford to.

needs_a_context = pytest.mark.skipif(not CONTEXTS, reason="needs a context")

WORDS = "outbox_events_words"  # the tests' own trigram index, made as a migration makes one
WORDS_ADD = f"INSERT INTO {WORDS} (rowid, stream, payload) VALUES (new.id, new.stream, new.payload)"
WORDS_REMOVE = (
    f"INSERT INTO {WORDS} ({WORDS}, rowid, stream, payload) "
    "VALUES ('delete', old.id, old.stream, old.payload)"
)
MAKE_WORDS = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {WORDS} USING fts5(stream, payload, "
    "content='outbox_events', content_rowid='id', tokenize='trigram case_sensitive 1')",
    f"CREATE TRIGGER IF NOT EXISTS {WORDS}_insert AFTER INSERT ON outbox_events "
    f"BEGIN {WORDS_ADD}; END",
    f"CREATE TRIGGER IF NOT EXISTS {WORDS}_delete AFTER DELETE ON outbox_events "
    f"BEGIN {WORDS_REMOVE}; END",
    f"CREATE TRIGGER IF NOT EXISTS {WORDS}_update AFTER UPDATE OF stream, payload "
    f"ON outbox_events BEGIN {WORDS_REMOVE}; {WORDS_ADD}; END",
)
SEARCHES = ['"ord"', '"blue"', 'payload:"äöü"', '"-🙂x"', '"der-1" AND "red"', '"nowhere"']
EVENT_COLUMNS = (
    "name, stream, payload, recorded_at, attempts, retry_at_ms, delivered_at_ms, "
    "parked_at_ms, last_error"
)
STORE_EVENT = f"INSERT INTO outbox_events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 9)})"
DELIVERED = ("t", 1, None, 0, None, None)  # recorded_at ... last_error, after name, stream, payload
# Each value as SQLite stores it in these columns (INTEGER or TEXT): ints beyond 2^53 up to
# both ends of 64 bits; reals with a fraction (an INTEGER column makes an integral real an
# int), the least and greatest doubles among them; NULLs; text that JSON must escape.
EXACT_EVENTS: list[tuple[Any, ...]] = [
    ("a", "s1", "é😀 中文 עברית", "t", 2**53 + 1, 0.1, None, None, None),
    ("b", "s2", '"q" \\ \n\t\x01 \u2028', "t", 2**63 - 1, 5e-324, -(2**63), 0, "x" * 500),
    ("c", "s3", "", "t", -(2**63), 1.7976931348623157e308, 0, None, "🙂"),
    ("d", "s4", "{}", "t", 0, 2.2250738585072014e-308, None, -1, ""),
    ("e", "s5", "null", "t", -1, -2.5e-300, 2**62, None, "\\u0041"),
]


def execute(
    address: str, database: str, statement: str, rows: Sequence[tuple[Any, ...]] = ((),)
) -> None:
    """Run `statement` on `database` once for each of `rows` (once), in one transaction."""
    connection = dqlitedbapi.connect(address, database=database)
    try:
        cursor = connection.cursor()
        for row in rows:
            cursor.execute(statement, row)
        connection.commit()
    finally:
        connection.close()


def query(address: str, database: str, statement: str, *row: Any) -> list[tuple[Any, ...]]:
    connection = dqlitedbapi.connect(address, database=database)
    try:
        cursor = connection.cursor()
        cursor.execute(statement, row)
        return [tuple(found) for found in cursor.fetchall()]
    finally:
        connection.close()


def exactly(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    """Each value with its type, a real as repr writes it (exact, -0.0 too)."""
    return [tuple(f"{type(value).__name__} {value!r}" for value in row) for row in rows]


def random_reals(count: int) -> list[float]:
    """Doubles from random bits, of every magnitude and sign (subnormals too), none infinite."""
    rng = random.Random(7)
    reals = (struct.unpack("<d", rng.randbytes(8))[0] for _ in range(count))
    return [real for real in reals if math.isfinite(real)]


def new_database(node: DqliteNode, context: Context | None = None) -> str:
    """The name of a new database on `node`, at `context`'s head when given (else empty)."""
    name = f"backup_{uuid.uuid4().hex}"
    if context is not None:
        upgrade_to_head(f"dqlite://{node.address}/{name}", context.name)
    return name


def take_backup(node: DqliteNode, database: str, context: Context, folder: Path) -> BackupFile:
    """A backup of `database` as the CLI takes one (its DUMP through the cluster client)."""
    files = asyncio.run(cluster_client([node.address]).dump(database))
    return write_backup(files, database, context, folder / f"{context.name}.sqlite")


def restored(
    node: DqliteNode, backup: BackupFile, context: Context, into: str = "", replace: bool = False
) -> str:
    """The database `backup` was restored into: `into`, or a new one."""
    database = into or new_database(node)
    restore(backup, f"dqlite://{node.address}/{database}", context, replace=replace)
    return database


def events(node: DqliteNode, database: str) -> list[tuple[Any, ...]]:
    return query(
        node.address, database, f"SELECT id, {EVENT_COLUMNS} FROM outbox_events ORDER BY id"
    )


def searched(node: DqliteNode, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """What the tests' trigram index answers to each of SEARCHES: the events' ids."""
    found = f"SELECT rowid FROM {WORDS} WHERE {WORDS} MATCH ? ORDER BY rowid"
    return {words: query(node.address, database, found, words) for words in SEARCHES}


def check_index(node: DqliteNode, database: str) -> None:
    """Fail unless the tests' index holds exactly what its table's rows put in it."""
    check = f"INSERT INTO {WORDS} ({WORDS}, rank) VALUES ('integrity-check', 1)"
    execute(node.address, database, check)


@needs_a_context
def test_a_trigram_index_is_restored_answering_as_before_though_the_backup_lists_only_tables(
    dqlite_node: DqliteNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = CONTEXTS[0]
    source = new_database(dqlite_node, context)
    for statement in MAKE_WORDS:
        execute(dqlite_node.address, source, statement)
    colors = ["red", "blue", "äöü", "🙂x"]
    stored = [
        ("E", f"order-{i}-{colors[i % 4]}", f"payload {colors[i % 3]} {i}", *DELIVERED)
        for i in range(300)
    ]
    execute(dqlite_node.address, source, STORE_EVENT, stored)
    execute(dqlite_node.address, source, "DELETE FROM outbox_events WHERE id % 7 = 0")
    upgrade = command.upgrade

    def upgrade_and_index(config: Config, revision: str) -> None:  # as a migration would
        upgrade(config, revision)
        target = make_url(config.get_main_option("sqlalchemy.url") or "")
        for statement in MAKE_WORDS:
            execute(dqlite_node.address, str(target.database), statement)

    backup = take_backup(dqlite_node, source, context, tmp_path)
    monkeypatch.setattr(command, "upgrade", upgrade_and_index)
    target = restored(dqlite_node, backup, context)

    assert not [table for table in backup.rows if table.startswith(WORDS)]
    assert backup.rows["outbox_events"] == len(stored) - len(stored) // 7
    assert filled_tables(f"dqlite://{dqlite_node.address}/{target}") == {
        "outbox_events": backup.rows["outbox_events"]
    }
    answers = searched(dqlite_node, source)
    assert all(answers[words] for words in SEARCHES[:-1]), answers
    assert searched(dqlite_node, target) == answers
    check_index(dqlite_node, target)
    # Again over what it now holds: the rows it deletes first (a few transactions) take their
    # words out with them.
    monkeypatch.setattr(backups, "DELETE_BATCH_ROWS", 50)
    restored(dqlite_node, backup, context, into=target, replace=True)
    assert searched(dqlite_node, target) == answers
    check_index(dqlite_node, target)


@needs_a_context
def test_a_restore_copies_every_value_exactly_as_json_ints_reals_text_and_nulls(
    dqlite_node: DqliteNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = CONTEXTS[0]
    source = new_database(dqlite_node, context)
    reals = [real for real in random_reals(400) if not real.is_integer() or abs(real) > 2**63]
    stored = [*EXACT_EVENTS, *(("r", "s", "p", "t", 1, real, None, None, None) for real in reals)]
    execute(dqlite_node.address, source, STORE_EVENT, stored)

    def refuse(*arguments: Any) -> Any:
        raise AssertionError("copied with bound parameters, not as JSON")

    monkeypatch.setattr(backups, "_as_parameters", refuse)
    monkeypatch.setattr(backups, "COPY_BATCH_BYTES", 4 * 2**10)  # a few batches, not one
    backup = take_backup(dqlite_node, source, context, tmp_path)
    target = restored(dqlite_node, backup, context)

    assert exactly([row[1:] for row in events(dqlite_node, source)]) == exactly(stored)
    assert exactly(events(dqlite_node, target)) == exactly(events(dqlite_node, source))


@needs_a_context
def test_a_table_holding_a_blob_is_copied_exactly_with_bound_parameters(
    dqlite_node: DqliteNode, tmp_path: Path
) -> None:
    context = CONTEXTS[0]
    source = new_database(dqlite_node, context)
    blob = bytes(range(256)) * 3  # JSON has no blobs, and SQLite 3.40 no unhex()
    stored = [*EXACT_EVENTS, ("b", "s", blob, "t", 1, 0.5, None, None, b"")]
    execute(dqlite_node.address, source, STORE_EVENT, stored)

    target = restored(dqlite_node, take_backup(dqlite_node, source, context, tmp_path), context)

    assert exactly(events(dqlite_node, target)) == exactly(events(dqlite_node, source))
    assert exactly([row[1:] for row in events(dqlite_node, target)]) == exactly(stored)


def test_a_database_file_over_64_mib_is_dumped_whole(
    dqlite_node: DqliteNode, tmp_path: Path
) -> None:
    # dqliteclient's own DUMP refused any file over 64 MiB: a 10^6-row database's.
    database = new_database(dqlite_node)
    engine = create_dqlite_sync_engine(f"dqlite://{dqlite_node.address}/{database}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE chunks (data BLOB)"))
        for _ in range(9):  # 8 MiB a transaction
            with engine.begin() as connection:
                eight = "WITH n(i) AS (VALUES (1), (2), (3), (4), (5), (6), (7), (8)) "
                connection.execute(
                    text(f"{eight} INSERT INTO chunks SELECT zeroblob(1048576) FROM n")
                )
    finally:
        engine.dispose()

    files = asyncio.run(cluster_client([dqlite_node.address]).dump(database))

    assert len(files[database]) > 72 * 2**20
    for name, data in files.items():  # the database file and its WAL, as SQLite reads them
        (tmp_path / name).write_bytes(data)
    with sqlite3.connect(tmp_path / database) as dumped:
        found = dumped.execute("SELECT count(*), sum(length(data)) FROM chunks").fetchone()
    assert found == (72, 72 * 2**20)


@needs_a_context
def test_a_dump_over_the_limit_is_refused_saying_how_big_the_database_is_and_what_limits_it(
    dqlite_node: DqliteNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = CONTEXTS[0]
    prefix = f"limited_{uuid.uuid4().hex[:8]}_"
    upgrade_to_head(f"dqlite://{dqlite_node.address}/{prefix}{context.name}", context.name)
    monkeypatch.setattr(backups, "DUMP_MAX_BYTES", 16 * 2**10)
    admin = ClusterAdmin([dqlite_node.address], CONTEXTS, database_prefix=prefix)

    with pytest.raises(DumpTooLarge) as refused:
        asyncio.run(admin.backup(tmp_path / "backup"))

    said = str(refused.value)
    assert f"the {prefix}{context.name} database is " in said
    assert "KiB with its WAL, over the 16.0 KiB a backup can take" in said
    assert "DUMP_MAX_BYTES" in said
    assert not list(tmp_path.glob("backup/*.sqlite"))
