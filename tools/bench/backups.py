"""`cli backup` of the bench's node, then `cli restore` of that backup into a new node.

The restore copies each table as JSON batches of about 2 MiB, a transaction each: by hand, at
10^6 rows a table, 5*10^6 rows (their trigram indexes filled by triggers) took 68 to 94 s;
with 255 bound parameters a batch, as before, 10^5 rows a table went at 3,200 rows a second.
It is given RESTORE_CAP_SECONDS; one still running then is stopped, and the rows it copied by
then say its pace and how long the whole would take.
"""

import asyncio
import contextlib
import re
import shutil
import subprocess
import time
from pathlib import Path

from dqliteclient import OperationalError, connect

from adapters.contexts import CONTEXTS
from adapters.dqlite.node import AddressInUse, DqliteNode
from tools.bench.apps import PORT_ATTEMPTS, App, free_port
from tools.bench.operations import CliFailed, cli, finish, size_mb, start_cli

RESTORE_CAP_SECONDS = 300.0
TABLES = ("todos", "users", "posts", "accounts", "transfers")


def _printed_rows(printed: str) -> dict[str, int]:
    """The rows of each table the CLI names (`todos 40, users 2`), its revisions aside."""
    return {
        table: int(count)
        for table, count in re.findall(r"\b(\w+) (\d+)\b", printed)
        if table != "revision"
    }


def _check_rows(printed: str, rows: int) -> dict[str, int]:
    found = _printed_rows(printed)
    if any(found.get(table, 0) < rows for table in TABLES):
        raise RuntimeError(f"expected {rows} rows or more in {TABLES}; the CLI printed {printed}")
    return found


async def _rows_in(address: str, prefix: str) -> int:
    """The rows every context's tables hold on the node at `address` (none yet: 0)."""
    total = 0
    for context in CONTEXTS:
        connection = await connect(address, database=prefix + context.name, timeout=60)
        try:
            for table in context.metadata.tables:
                with contextlib.suppress(OperationalError):  # a table not made yet
                    total += int(await connection.fetchval(f'SELECT count(*) FROM "{table}"'))
        finally:
            await connection.close()
    return total


def _started_node(data_dir: Path) -> DqliteNode:
    """A new node, on other ports if one found free was taken before it bound it."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        node = DqliteNode(1, f"127.0.0.1:{free_port()}", data_dir / f"attempt{attempt}")
        with contextlib.suppress(AddressInUse):
            node.start()
            return node
    raise AddressInUse(node.address)


def _restore(app: App, folder: Path, workdir: Path, rows: int, total: int) -> dict[str, float]:
    target = _started_node(workdir / "restored")
    try:
        started = time.perf_counter()
        restoring = start_cli(app, "restore", str(folder), node=target.address)
        try:
            _check_rows(finish(restoring, RESTORE_CAP_SECONDS), rows)
            seconds, copied, done = time.perf_counter() - started, total, True
        except subprocess.TimeoutExpired:
            restoring.kill()
            restoring.communicate()
            seconds, done = time.perf_counter() - started, False
            copied = asyncio.run(_rows_in(target.address, app.env["APP_DATABASE_PREFIX"]))
    finally:
        target.stop()
    figures = {"restore_rows": copied, "restore_rows_per_s": copied / seconds}
    if done:
        return {**figures, "restore_s": seconds}
    print(f"  restore stopped after {seconds:.0f} s: {copied:,} of {total:,} rows copied")
    return {**figures, "restore_stopped_s": seconds}


def backup_and_restore(
    app: App, workdir: Path, rows: int
) -> tuple[dict[str, float], dict[str, str]]:
    """`cli backup` of the node, then `cli restore` of it into a new node, a cluster of its
    own (a bare node: the restore makes each context's schema). The figures, and what could
    not be measured, with why."""
    folder = workdir / "backup"
    try:
        backup_seconds, printed = cli(app, "backup", str(folder))
    except CliFailed as error:
        failed = error.printed.strip().splitlines()[-1]  # the CLI's own last word
        print(f"  cli backup failed: {failed}", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
        return {}, {"`cli backup`": f"failed: {failed}", "`cli restore`": "no backup to restore"}
    total = sum(_check_rows(printed, rows).values())
    figures = {"backup_s": backup_seconds, "backup_mb": size_mb(folder), "backup_rows": total}
    figures |= _restore(app, folder, workdir, rows, total)
    shutil.rmtree(workdir)
    return figures, {}
