"""A node's snapshot parameters (APP_SNAPSHOT_THRESHOLD, APP_SNAPSHOT_TRAILING) as libdqlite
applies them: seen in the data dir, where its snapshots and raft log segments are."""

import asyncio
import re
import time
from pathlib import Path

import pytest
from dqliteclient import connect
from pydantic import ValidationError

from adapters.dqlite.node import DqliteNode, SnapshotParams
from entrypoints.settings import Settings
from tests.dqlite import free_address

WRITES = 200
# libraft 0.15's file names: closed segments FIRST-LAST (raft indexes), snapshot-TERM-INDEX-TIME.
CLOSED_SEGMENT = re.compile(r"(\d{16})-(\d{16})")
SNAPSHOT = re.compile(r"snapshot-\d+-(\d+)-\d+")


def closed_segments(data_dir: Path) -> list[tuple[int, int]]:
    """The first and last raft index of each closed segment file."""
    found = [CLOSED_SEGMENT.fullmatch(p.name) for p in data_dir.iterdir()]
    return sorted((int(m[1]), int(m[2])) for m in found if m)


async def test_a_node_snapshots_every_threshold_entries_and_keeps_the_trailing_ones(
    tmp_path: Path,
) -> None:
    params = SnapshotParams(threshold=16, trailing=32)
    node = DqliteNode(1, free_address(), tmp_path / "node1", snapshot=params)
    node.start()
    try:
        connection = await connect(node.address, database="snapshots")
        try:
            await connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            for n in range(WRITES):  # one raft entry each
                await connection.execute("INSERT INTO notes (body) VALUES (?)", [f"note {n}"])
        finally:
            await connection.close()
        # libraft takes a snapshot on its own after the entry is applied: the last one may
        # still be under way when the last write is answered.
        deadline = time.monotonic() + 10
        # A file libraft writes: there is no event to await, only the directory to look at.
        while _latest_snapshot(node.data_dir) <= WRITES - 16 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        files = sorted(p.name for p in node.data_dir.iterdir())
        segments = closed_segments(node.data_dir)
    finally:
        node.stop()

    snapshots = [int(m[1]) for m in map(SNAPSHOT.fullmatch, files) if m]
    assert len(snapshots) == 2, files  # libraft keeps the last two
    latest = max(snapshots)
    assert latest > WRITES - 16  # one every 16 entries
    # The oldest entry left is among the last writes' (the trailing 32, in segments closed at
    # each snapshot): the older ones were dropped. libdqlite's own trailing (8192) keeps all.
    assert segments, files
    assert segments[0][0] > WRITES // 2


def test_a_trailing_shorter_than_the_threshold_is_refused_before_the_node_starts() -> None:
    with pytest.raises(ValueError, match="at least the threshold"):
        SnapshotParams(threshold=64, trailing=32)
    with pytest.raises(ValueError, match="at least 4"):
        SnapshotParams(threshold=1, trailing=3)
    with pytest.raises(ValidationError, match="APP_SNAPSHOT_TRAILING must be at least"):
        Settings(snapshot_threshold=4096, snapshot_trailing=2048)


def _latest_snapshot(data_dir: Path) -> int:
    found = [int(m[1]) for m in map(SNAPSHOT.fullmatch, (p.name for p in data_dir.iterdir())) if m]
    return max(found, default=0)
