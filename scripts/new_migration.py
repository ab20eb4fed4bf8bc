"""Autogenerate a migration of one context's database: `make migration CONTEXT=billing
name="add invoices"`.

Starts a throwaway dqlite node, brings a scratch database to the head of the context's history
(migrations/<context>/, begun here for a new context), and lets Alembic compare it with the
context's tables, so no running app is needed.
"""

import socket
import sys
import tempfile
from pathlib import Path

from alembic import command

from adapters.contexts import context_named
from adapters.dqlite.engine import dqlite_url
from adapters.dqlite.migrations import MIGRATIONS, alembic_config
from adapters.dqlite.node import DqliteNode


def _next_rev_id(versions: Path) -> str:
    """Revisions are numbered 0001, 0002, ... so their order shows in a directory listing."""
    return f"{len(list(versions.glob('[0-9][0-9][0-9][0-9]_*.py'))) + 1:04d}"


def main(context: str, message: str) -> None:
    context_named(context)  # refuses a context that is not registered
    versions = MIGRATIONS / context
    versions.mkdir(exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    with tempfile.TemporaryDirectory() as data_dir:
        node = DqliteNode(1, address, Path(data_dir))
        node.start()
        try:
            config = alembic_config(dqlite_url(address, "scratch", driver=""), context)
            command.upgrade(config, "head")
            rev_id = _next_rev_id(versions)
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        finally:
            node.stop()


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[1]:
        sys.exit('usage: make migration CONTEXT=<context> name="what the migration does"')
    main(sys.argv[1], sys.argv[2])
