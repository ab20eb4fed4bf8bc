"""Alembic glue: teaches Alembic the dqlite dialect and runs the project's migrations.

Each bounded context has a history of its own, migrations/<context>/, for its own database;
the environment (migrations/env.py) and the script template are shared.
"""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.ddl.sqlite import SQLiteImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from adapters.dqlite.dialing import DialFunc
from adapters.dqlite.engine import create_dqlite_sync_engine

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "alembic.ini"
MIGRATIONS = ALEMBIC_INI.parent / "migrations"


class DqliteImpl(SQLiteImpl):
    """dqlite speaks SQLite's SQL; registering the dialect name is all Alembic needs.

    DDL in SQLite is transactional: running each upgrade in one transaction means that
    nodes starting together migrate one after another, the later ones finding head.
    """

    __dialect__ = "dqlite"
    transactional_ddl = True


def alembic_config(sync_url: str, context: str, dial: DialFunc | None = None) -> Config:
    """Alembic's configuration for `context`'s history, run on the database at `sync_url`."""
    config = _history(context)
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False  # keep the running app's logging as it is
    if dial is not None:  # migrations/env.py passes these to the driver
        config.attributes["connect_args"] = {"dial_func": dial}
    return config


def _history(context: str) -> Config:
    config = Config(ALEMBIC_INI)
    config.set_main_option("version_locations", str(MIGRATIONS / context))
    config.attributes["context"] = context  # migrations/env.py compares with its tables
    return config


def upgrade_to_head(sync_url: str, context: str, dial: DialFunc | None = None) -> None:
    command.upgrade(alembic_config(sync_url, context, dial), "head")


@functools.cache
def head_revisions(context: str) -> frozenset[str]:
    """The revisions a context's history leads to (read once: they do not change at run
    time)."""
    return frozenset(ScriptDirectory.from_config(_history(context)).get_heads())


@functools.cache
def known_revisions(context: str) -> frozenset[str]:
    """Every revision of a context's history (read once, as head_revisions)."""
    script = ScriptDirectory.from_config(_history(context))
    return frozenset(revision.revision for revision in script.walk_revisions())


def is_at_head(sync_url: str, context: str) -> bool:
    heads = head_revisions(context)
    engine = create_dqlite_sync_engine(sync_url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return current == heads
