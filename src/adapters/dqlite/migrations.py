"""Alembic glue: teaches Alembic the dqlite dialect and runs the project's migrations.

Each bounded context has a history of its own, migrations/<context>/, for its own database;
the environment (migrations/env.py) and the script template are shared.
"""

import functools
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.autogenerate import comparators, renderers
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.ddl.sqlite import SQLiteImpl
from alembic.operations.ops import MigrateOperation, UpgradeOps
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import DispatchPriority

from adapters.dqlite.dialing import DialFunc
from adapters.dqlite.engine import create_dqlite_sync_engine
from adapters.search import (
    create_statements,
    declared_columns,
    drop_statements,
    made_search_indexes,
)

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "alembic.ini"
MIGRATIONS = ALEMBIC_INI.parent / "migrations"


class DqliteImpl(SQLiteImpl):
    """dqlite speaks SQLite's SQL; registering the dialect name is all Alembic needs.

    DDL in SQLite is transactional: running each upgrade in one transaction means that
    nodes starting together migrate one after another, the later ones finding head.
    """

    __dialect__ = "dqlite"
    transactional_ddl = True


class CreateSearchIndex(MigrateOperation):
    """A table's trigram index (adapters/search.py), to make."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.table, self.columns = table, tuple(columns)

    def reverse(self) -> "DropSearchIndex":
        return DropSearchIndex(self.table, self.columns)

    def to_diff_tuple(self) -> tuple[str, str, tuple[str, ...]]:
        return ("add_search_index", self.table, self.columns)


class DropSearchIndex(MigrateOperation):
    """A table's trigram index, to drop (`columns`: what it covered, for the downgrade)."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.table, self.columns = table, tuple(columns)

    def reverse(self) -> CreateSearchIndex:
        return CreateSearchIndex(self.table, self.columns)

    def to_diff_tuple(self) -> tuple[str, str, tuple[str, ...]]:
        return ("remove_search_index", self.table, self.columns)


# LAST: after the tables' own comparison, so that a new table is made before its index.
@comparators.dispatch_for("schema", priority=DispatchPriority.LAST)
def _compare_search_indexes(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: object
) -> None:
    """Autogenerate (and `alembic check`) see the trigram indexes the models declare."""
    assert autogen_context.connection is not None
    made = made_search_indexes(autogen_context.connection)
    declared = {t.name: declared_columns(t) for t in autogen_context.sorted_tables}
    for table in sorted(made.keys() | declared.keys()):
        columns, covered = declared.get(table, ()), made.get(table, ())
        if columns == covered:
            continue
        if covered:
            upgrade_ops.ops.append(DropSearchIndex(table, covered))
        if columns:
            upgrade_ops.ops.append(CreateSearchIndex(table, columns))


# Written as the SQL they run: a migration never imports code that may change after it.
@renderers.dispatch_for(CreateSearchIndex)
def _render_create(autogen_context: AutogenContext, op: CreateSearchIndex) -> list[str]:
    return [f"op.execute({sql!r})" for sql in create_statements(op.table, op.columns)]


@renderers.dispatch_for(DropSearchIndex)
def _render_drop(autogen_context: AutogenContext, op: DropSearchIndex) -> list[str]:
    return [f"op.execute({sql!r})" for sql in drop_statements(op.table)]


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
