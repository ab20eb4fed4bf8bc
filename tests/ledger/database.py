"""The ledger's database on dqlite (imported only there, as the container imports the dqlite
adapters): a context's database whose schema is made from its tables, as the ledger has no
Alembic history."""

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from adapters.dqlite.database import DqliteDatabase
from adapters.dqlite.store import DqliteStore
from tests.ledger.model import LedgerUnitOfWork
from tests.ledger.storage import create_tables, schema


class LedgerDatabase(DqliteDatabase):
    """Migrated by creating its tables (unless they exist), and ready when they are there:
    what the project's contexts get from their histories."""

    async def migrate_to_head(self, within_seconds: float = 0) -> None:
        async with self.engine.begin() as connection:
            await create_tables(connection)

    async def readiness(self) -> dict[str, str]:
        name = self.context.name
        try:
            async with self.engine.connect() as connection:
                listed = await connection.scalars(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                )
                present = set(listed)
        except (DBAPIError, OSError, TimeoutError) as error:
            return {f"{name} database": f"no round trip: {getattr(error, 'orig', error)}"}
        missing = sorted({table.name for table in schema()} - present)
        return {
            f"{name} database": "ok",
            f"{name} schema": f"no table {', '.join(missing)}" if missing else "ok",
        }


def serve_the_ledger_database(store: DqliteStore) -> LedgerDatabase:
    """Make the ledger's database, as the store built it (engines, writers' queue), a
    LedgerDatabase: the store then migrates it and asks it for /ready as any other."""
    database = store.databases[LedgerUnitOfWork]
    database.__class__ = LedgerDatabase
    assert isinstance(database, LedgerDatabase)
    return database
