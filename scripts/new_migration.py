"""Autogenerate a migration: `make migration name="add users"`.

Starts a throwaway dqlite node, brings a scratch database to head, and lets Alembic compare
it with the models, so no running app is needed.
"""

import socket
import sys
import tempfile
from pathlib import Path

from alembic import command

from adapters.dqlite.engine import dqlite_url
from adapters.dqlite.migrations import alembic_config
from adapters.dqlite.node import DqliteNode


def _next_rev_id() -> str:
    """Revisions are numbered 0001, 0002, ... so their order shows in a directory listing."""
    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    return f"{len(list(versions.glob('[0-9][0-9][0-9][0-9]_*.py'))) + 1:04d}"


def main(message: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    with tempfile.TemporaryDirectory() as data_dir:
        node = DqliteNode(1, address, Path(data_dir))
        node.start()
        try:
            config = alembic_config(dqlite_url(address, "scratch", driver=""))
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True, rev_id=_next_rev_id())
        finally:
            node.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit('usage: make migration name="what the migration does"')
    main(sys.argv[1])
