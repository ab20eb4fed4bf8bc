"""A bare dqlite node in a process of its own, so that its RSS is the node's alone: serves
until SIGTERM or SIGINT, then stops cleanly. On SIGUSR1 it hands the heap's free memory back
to the system (glibc's malloc_trim) and says "trimmed": what stays resident is in use.

    python -m tools.soak.node_process ADDRESS DATA_DIR THRESHOLD TRAILING
"""

import ctypes
import signal
import sys
from pathlib import Path

from adapters.dqlite.node import DqliteNode, SnapshotParams


def main(address: str, data_dir: str, threshold: str, trailing: str) -> None:
    params = SnapshotParams(int(threshold), int(trailing))
    node = DqliteNode(1, address, Path(data_dir), snapshot=params)
    node.start()
    try:
        print("serving", flush=True)
        while signal.sigwait({signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}) == signal.SIGUSR1:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            print("trimmed", flush=True)
    finally:
        node.stop()


if __name__ == "__main__":
    # Blocked before the node's threads start, so that they inherit the mask and sigwait
    # takes every one of these.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1})
    main(*sys.argv[1:])
