"""The composition root: the one module that knows which adapters implement the ports."""

from dependency_injector import containers, providers

from adapters.cluster import ClusterAdmin
from adapters.database import DqliteDatabase, InMemoryDatabase, dqlite_url
from adapters.dqlite_node import DqliteNode
from adapters.migrations import upgrade_to_head
from entrypoints.settings import Settings
from service.unit_of_work import RetryPolicy


def _embedded_node(settings: Settings) -> DqliteNode | None:
    if not settings.embedded_node:
        return None
    return DqliteNode(
        settings.node_id,
        settings.node_address,
        settings.data_dir,
        network_latency_ms=settings.network_latency_ms,
    )


def _migrate(leader: str, database: str) -> None:
    upgrade_to_head(dqlite_url(leader, database, driver=""))


def _all_addresses(settings: Settings) -> list[str]:
    return [settings.node_address, *settings.peer_addresses]


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    retry_policy = providers.Singleton(
        RetryPolicy, budget_seconds=settings.provided.retry_budget_seconds
    )

    database = providers.Selector(
        settings.provided.storage,
        dqlite=providers.Singleton(
            DqliteDatabase,
            address=settings.provided.node_address,
            database=settings.provided.database,
            peers=settings.provided.peer_addresses,
            node=providers.Callable(_embedded_node, settings),
            pool_size=settings.provided.db_pool_size,
            statement_timeout=settings.provided.db_timeout_seconds,
            startup_timeout=settings.provided.startup_timeout,
            migrate=settings.provided.migrate_on_startup,
            retry_policy=retry_policy,
        ),
        memory=providers.Singleton(InMemoryDatabase, retry_policy=retry_policy),
    )

    # A new unit of work on every call: one per request, never shared.
    unit_of_work = providers.Factory(database.provided.unit_of_work.call())

    # For the operators' command line.
    cluster_admin = providers.Factory(
        ClusterAdmin, addresses=providers.Callable(_all_addresses, settings)
    )
    migrate = providers.Object(_migrate)
