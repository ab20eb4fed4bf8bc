"""Backup while clients write, and restore into a fresh cluster, through the operators' CLI.

Runs on the tests' own ledger (tests/ledger), so a fork keeps it.
"""

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dqlitedbapi
import pytest

from tests.integration.bank_workload import ACKNOWLEDGED, BankWorkload, open_accounts
from tests.integration.cluster import Cluster, running_cluster
from tests.integration.process import ROOT, AppProcess
from tests.integration.test_cluster_faults import lead_with

WRITING_BEFORE_SECONDS = 2.0
WRITING_AFTER_SECONDS = 1.0


def cli(addresses: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "entrypoints.cli", "--cluster", ",".join(addresses)]
    return subprocess.run(
        [*command, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# The relay's lease belongs to the running cluster, not to its data: a restore keeps the
# target's, and it changes whenever the relay renews it.
TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
    "AND name != 'outbox_lease'"
)


def tables_of_file(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        names = [name for (name,) in db.execute(TABLES)]
        return {n: sorted(db.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}


def tables_of_node(address: str) -> dict[str, list[tuple[Any, ...]]]:
    connection = dqlitedbapi.connect(address, database="app")
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


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("backup-source")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def taken(source: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A backup taken while the bank workload writes: the file, and what was acknowledged
    before the backup started."""
    nodes = [app.base_url for app in source.apps.values()]
    workload = BankWorkload(nodes, open_accounts(nodes[0]), seed=21)
    path = tmp_path_factory.mktemp("backups") / "app.sqlite"
    workload.start()
    try:
        time.sleep(WRITING_BEFORE_SECONDS)
        started = time.time()
        done = cli(source.addresses, "backup", path)
        time.sleep(WRITING_AFTER_SECONDS)
    finally:
        workload.stop(timeout=60)
    acknowledged = {
        record.key
        for record in workload.snapshot()
        if record.outcome == ACKNOWLEDGED and record.attempts[-1].answered_at < started
    }
    return {"path": path, "cli": done, "acknowledged_before": acknowledged}


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


def test_a_backup_taken_while_clients_write_holds_every_transfer_acknowledged_before_it(
    taken: dict[str, Any],
) -> None:
    assert taken["cli"].returncode == 0, taken["cli"].stderr
    path: Path = taken["path"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
        keys = {key for (key,) in db.execute("SELECT idempotency_key FROM ledger_transfers")}
    assert len(revision) == 1
    assert f"revision {revision[0][0]}" in taken["cli"].stdout
    assert taken["acknowledged_before"], "nothing was acknowledged before the backup"
    assert taken["acknowledged_before"] - keys == set()
    assert not list(path.parent.glob(".backup-*")), "scratch files were left behind"


def test_a_backup_restored_into_a_fresh_cluster_gives_every_table_row_for_row_on_every_node(
    taken: dict[str, Any], fresh: Cluster
) -> None:
    done = cli(fresh.addresses, "restore", taken["path"])

    assert done.returncode == 0, done.stderr
    backup = tables_of_file(taken["path"])
    for app in fresh.apps.values():  # each node's own copy, read while that node leads
        assert lead_with(fresh, app), f"node {app.node_id} could not take the lead"
        assert tables_of_node(app.node_address) == backup, f"node {app.node_id}"


def test_a_restore_into_a_database_that_holds_data_is_refused_unless_told_to_replace(
    taken: dict[str, Any], target: AppProcess
) -> None:
    open_accounts(target.base_url, count=1)

    refused = cli([target.node_address], "restore", taken["path"])
    replaced = cli([target.node_address], "restore", taken["path"], "--replace")

    assert refused.returncode == 1
    assert "not empty" in refused.stderr
    assert "--replace" in refused.stderr
    assert replaced.returncode == 0, replaced.stderr
    assert tables_of_node(target.node_address) == tables_of_file(taken["path"])


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not a database at all" * 100, "not an SQLite database"),
        (None, "no schema revision"),  # an SQLite file of another program
    ],
)
def test_a_corrupt_or_foreign_file_is_refused_with_a_clear_message_and_nothing_changes(
    target: AppProcess, tmp_path: Path, content: bytes | None, says: str
) -> None:
    path = tmp_path / "other.sqlite"
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE notes (body TEXT)")
    else:
        path.write_bytes(content)
    open_accounts(target.base_url, count=1)  # so that a restore would have something to undo
    before = tables_of_node(target.node_address)

    done = cli([target.node_address], "restore", path, "--replace")

    assert done.returncode == 1
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert tables_of_node(target.node_address) == before
