"""Alembic environment: the sync dqlite dialect, batch mode so ALTERs work on SQLite.

Shared by every bounded context's history (migrations/<context>/): adapters/dqlite/migrations.py
names the context, whose database and tables are the ones migrated and compared.
"""

from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, TypeDecorator

from adapters.contexts import context_named
from adapters.dqlite import migrations  # noqa: F401  (teaches autogenerate the trigram indexes)
from adapters.dqlite.engine import create_dqlite_sync_engine
from adapters.search import derived_tables

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


bounded_context = context_named(config.attributes["context"])


def _url() -> str:
    """The database, which adapters/dqlite/migrations.py names in the configuration it builds
    (the app at start-up, `python -m entrypoints.cli migrate`, `make migration`)."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database to migrate: run Alembic through alembic_config()")
    return url


def _render_item(kind: str, item: Any, autogen: AutogenContext) -> str | bool:
    """Write the project's column types as the SQL types they store, so that a migration
    never imports application code that may change after it."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl_instance!r}"
    return False


def _models_only(connection: Connection) -> dict[str, Any]:
    """Compare the models' tables only: the trigram indexes are virtual tables (with shadow
    tables) that the models declare as DDL (adapters/search.py), and the migrations write."""
    derived = derived_tables(connection)
    connection.commit()  # the lookup began a transaction: the migration begins its own

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return not (type_ == "table" and name in derived)

    return {"include_name": include_name}


OPTIONS = {
    "target_metadata": bounded_context.metadata,
    "render_as_batch": True,
    "render_item": _render_item,
}


def run_migrations_offline() -> None:
    context.configure(url=_url(), **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_dqlite_sync_engine(
        _url(), connect_args=config.attributes.get("connect_args", {})
    )
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **OPTIONS, **_models_only(connection))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
