"""What a node holds on disk and in RAM, read from its data dir and from /proc."""

import re
import socket
from dataclasses import dataclass
from pathlib import Path

# libraft 0.15's file names: closed segments FIRST-LAST, open ones open-N, and snapshots
# snapshot-TERM-INDEX-TIMESTAMP, each with a .meta file.
SEGMENT = re.compile(r"\d{16}-\d{16}|open-\d+")
SNAPSHOT = re.compile(r"snapshot-\d+-\d+-\d+(\.meta)?")


@dataclass(frozen=True)
class DataDir:
    """Bytes on disk (allocated blocks: the open segments are preallocated sparsely)."""

    log_bytes: int
    segments: int
    snapshot_bytes: int
    snapshots: int
    total_bytes: int


def on_disk(path: Path) -> int:
    return path.stat().st_blocks * 512


def data_dir(path: Path) -> DataDir:
    log = snapshots = total = segments = count = 0
    for file in path.rglob("*"):
        if not file.is_file():
            continue
        try:
            size = on_disk(file)
        except FileNotFoundError:  # removed by the node while listed
            continue
        total += size
        if SEGMENT.fullmatch(file.name):
            log, segments = log + size, segments + 1
        elif SNAPSHOT.fullmatch(file.name):
            snapshots += size
            count += not file.name.endswith(".meta")
    return DataDir(log, segments, snapshots, count, total)


def memory_kib(pid: int) -> tuple[int, int]:
    """The process's resident set now and its peak (VmRSS, VmHWM), in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found["VmRSS"], found["VmHWM"]


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh from the current RSS (Linux 4.0 and later)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def free_port(start: int) -> int:
    """The first port from `start` on that nothing listens on at 127.0.0.1."""
    for port in range(start, 65536):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {start} on")
