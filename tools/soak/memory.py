"""A node's RAM per database size: one database on a bare node (a process of its own) filled
with todo-like rows to each size in turn; at each, its RSS once a steady trickle of one-row
writes has taken snapshots and trimmed the log, its peaks, and what its data dir holds.

    python -m tools.soak.memory [--sizes 1000,10000,...] [--out docs/performance]
"""

import argparse
import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from dqliteclient import DqliteConnection, connect

from adapters.dqlite.node import SnapshotParams
from tools.soak.figures import DataDir, data_dir, free_port, memory_kib, reset_peak

ROOT = Path(__file__).resolve().parents[2]
SIZES = (1_000, 10_000, 100_000, 1_000_000, 3_000_000, 10_000_000)
BATCH_ROWS = 50_000
THRESHOLD, TRAILING = 1024, 2048  # the app's defaults (APP_SNAPSHOT_THRESHOLD, _TRAILING)
SETTLE_SECONDS = 3.0  # for the last snapshot, written on a thread of libdqlite's
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS todos (owner VARCHAR(255) NOT NULL, key VARCHAR(200) NOT NULL,"
    " value VARCHAR(2000) NOT NULL, done BOOLEAN NOT NULL, PRIMARY KEY (owner, key))"
)
FILL = (
    "INSERT INTO todos (owner, key, value, done) "
    "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    "SELECT 'person-1', printf('todo-%09d', i), printf('buy %d l of milk at the corner shop', i),"
    " 0 FROM n"
)
FIELDS = ("steady_rss_kib", "trimmed_rss_kib", "churn_peak_kib", "restart_peak_kib")
CHURN = "UPDATE todos SET done = 1 - done WHERE owner = 'person-1' AND key = ?"


@dataclass(frozen=True)
class Measured:
    rows: int
    database_bytes: int
    fill_peak_kib: int  # while the bulk inserts ran
    steady_rss_kib: int  # after threshold + trailing one-row writes and their snapshots
    churn_peak_kib: int  # during those writes and snapshots
    restart_peak_kib: int  # while a restarted node loaded its snapshot and log
    restart_rss_kib: int
    trimmed_rss_kib: int  # steady, once the heap's free memory went back to the system
    disk: DataDir


class NodeProcess:
    """tools.soak.node_process, stopped by its pid."""

    def __init__(self, address: str, directory: Path, snapshot: SnapshotParams) -> None:
        self.address, self.directory, self.snapshot = address, directory, snapshot
        self.process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        arguments = [self.address, str(self.directory)]
        arguments += [str(self.snapshot.threshold), str(self.snapshot.trailing)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.soak.node_process", *arguments],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "serving":
            raise RuntimeError(f"the node did not start (exit {self.process.wait()})")

    def trim(self) -> None:
        """Have the node's heap hand its free memory back (malloc_trim), and wait for it."""
        assert self.process is not None
        assert self.process.stdout is not None
        self.process.send_signal(signal.SIGUSR1)
        if self.process.stdout.readline().strip() != "trimmed":
            raise RuntimeError("the node did not trim its heap")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)


@contextmanager
def running(node: NodeProcess) -> Iterator[NodeProcess]:
    node.start()
    try:
        yield node
    finally:
        node.stop()


async def _connection(address: str) -> DqliteConnection:
    connection = await connect(address, database="memory_probe", timeout=120)
    # libdqlite 1.11.1 fails a transaction larger than SQLite's page cache with "disk I/O
    # error" when the cache spills: keep its changes in memory until COMMIT.
    await connection.execute("PRAGMA cache_spill = OFF")
    await connection.execute(SCHEMA)
    return connection


async def _fill(address: str, rows: int) -> int:
    connection = await _connection(address)
    try:
        have = int(await connection.fetchval("SELECT count(*) FROM todos"))
        for first in range(have, rows, BATCH_ROWS):
            await connection.execute(FILL, [first, min(first + BATCH_ROWS, rows) - 1])
        pages = int(await connection.fetchval("PRAGMA page_count"))
        return pages * int(await connection.fetchval("PRAGMA page_size"))
    finally:
        await connection.close()


async def _churn(address: str, rows: int, writes: int) -> None:
    connection = await _connection(address)
    try:
        for _ in range(writes):
            await connection.execute(CHURN, [f"todo-{random.randrange(rows):09d}"])
    finally:
        await connection.close()


def measure(node: NodeProcess, rows: int, settle_seconds: float = SETTLE_SECONDS) -> Measured:
    """Fill the node's database to `rows` (it may hold fewer already) and measure."""
    address, snapshot = node.address, node.snapshot
    with running(node):
        reset_peak(node.pid)
        database_bytes = asyncio.run(_fill(address, rows))
        fill_peak = memory_kib(node.pid)[1]
        reset_peak(node.pid)
        # Enough to take a snapshot past the bulk inserts' entries plus the trailing ones.
        writes = snapshot.threshold + snapshot.trailing + snapshot.threshold // 4
        asyncio.run(_churn(address, rows, writes))
        time.sleep(settle_seconds)
        steady, churn_peak = memory_kib(node.pid)
        disk = data_dir(node.directory)
        node.trim()
        trimmed = memory_kib(node.pid)[0]
    with running(node):
        asyncio.run(_fill(address, rows))  # serving again: the log and snapshot are loaded
        restart_rss, restart_peak = memory_kib(node.pid)
    return Measured(
        rows,
        database_bytes,
        fill_peak,
        steady,
        churn_peak,
        restart_peak,
        restart_rss,
        trimmed,
        disk,
    )


def per_gib(measured: list[Measured], field: str) -> float:
    """The least-squares slope of `field` (KiB) over the database's size: MiB per GiB."""
    xs = [m.database_bytes / 2**30 for m in measured]
    ys = [int(getattr(m, field)) / 1024 for m in measured]
    return statistics.linear_regression(xs, ys).slope


def table(measured: list[Measured]) -> str:
    mib = 2**20
    lines = [
        "| rows | database | data dir | log | snapshots | RSS steady | trimmed | peak: writes "
        "and snapshots | bulk inserts | restart (then) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in measured:
        lines.append(
            f"| {m.rows:,} | {m.database_bytes / mib:.1f} MB | {m.disk.total_bytes / mib:.1f} MB"
            f" | {m.disk.log_bytes / mib:.1f} MB | {m.disk.snapshots} = "
            f"{m.disk.snapshot_bytes / mib:.1f} MB | {m.steady_rss_kib / 1024:.0f} MB | "
            f"{m.trimmed_rss_kib / 1024:.0f} MB | {m.churn_peak_kib / 1024:.0f} MB | "
            f"{m.fill_peak_kib / 1024:.0f} MB | {m.restart_peak_kib / 1024:.0f} MB "
            f"({m.restart_rss_kib / 1024:.0f} MB) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--threshold", type=int, default=THRESHOLD)
    parser.add_argument("--trailing", type=int, default=TRAILING)
    parser.add_argument("--settle-seconds", type=float, default=SETTLE_SECONDS)
    parser.add_argument("--port", type=int, default=45000, help="the first port to try")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance")
    arguments = parser.parse_args()
    address = f"127.0.0.1:{free_port(arguments.port)}"
    snapshot = SnapshotParams(arguments.threshold, arguments.trailing)
    measured = []
    with tempfile.TemporaryDirectory(prefix="soak-memory-") as workdir:
        node = NodeProcess(address, Path(workdir) / "node", snapshot)
        for rows in sorted(int(size) for size in arguments.sizes.split(",")):
            measured.append(measure(node, rows, arguments.settle_seconds))
            print(table(measured[-1:]).splitlines()[-1], flush=True)
    slopes = {f: per_gib(measured, f) for f in FIELDS}
    report = {
        "snapshot": asdict(snapshot),
        "sizes": [asdict(m) for m in measured],
        "mib_per_gib": slopes,
    }
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "soak-memory.json").write_text(json.dumps(report, indent=2) + "\n")
    summary = (
        f"RSS per GB of database (least squares over the sizes): "
        f"{slopes['steady_rss_kib']:.0f} MB steady, {slopes['trimmed_rss_kib']:.0f} MB in use "
        f"(trimmed), {slopes['churn_peak_kib']:.0f} MB at the peak of writes and snapshots, "
        f"{slopes['restart_peak_kib']:.0f} MB at the peak of a restart"
    )
    (arguments.out / "soak-memory.md").write_text(
        f"# A node's RAM per database size\n\n`python -m tools.soak.memory`: a bare node, "
        f"snapshot threshold {snapshot.threshold}, trailing {snapshot.trailing}.\n\n"
        f"{table(measured)}\n\n{summary}.\n"
    )
    print(table(measured), summary, sep="\n")


if __name__ == "__main__":
    main()
