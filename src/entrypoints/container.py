"""The composition root: the one module that knows which adapters implement the ports."""

from dependency_injector import containers, providers

from adapters.database import DqliteDatabase, InMemoryDatabase
from adapters.dqlite_node import DqliteNode
from entrypoints.settings import Settings


def _embedded_node(settings: Settings) -> DqliteNode | None:
    if not settings.embedded_node:
        return None
    return DqliteNode(settings.node_id, settings.node_address, settings.data_dir)


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)

    database = providers.Selector(
        settings.provided.storage,
        dqlite=providers.Singleton(
            DqliteDatabase,
            address=settings.provided.node_address,
            database=settings.provided.database,
            node=providers.Callable(_embedded_node, settings),
            pool_size=settings.provided.db_pool_size,
            startup_timeout=settings.provided.startup_timeout,
            migrate=settings.provided.migrate_on_startup,
        ),
        memory=providers.Singleton(InMemoryDatabase),
    )

    # A new unit of work on every call: one per request, never shared.
    unit_of_work = providers.Factory(database.provided.unit_of_work.call())
