"""The composition root: the one module that knows which adapters implement the ports.

The dqlite adapters are imported only when the settings ask for dqlite, so the app runs with
APP_STORAGE=memory on a machine without the dqlite stack.
"""

import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.memory.store import InMemoryStore
from adapters.repositories import REPOSITORIES, Registration
from entrypoints.settings import Settings
from service.handlers import HANDLERS
from service.messagebus import MessageBus
from service.operations import Store
from service.relay import OutboxRelay, RelaySettings
from service.unit_of_work import RetryCounters, RetrySettings

if TYPE_CHECKING:
    from adapters.dqlite.admin import ClusterAdmin
    from adapters.dqlite.tls import TlsFiles

# The dqlite adapters' import lines are in the functions below: importing adapters.dqlite
# loads the dqlite client stack, which an in-memory run must not need.


def _dqlite_store(
    settings: Settings,
    registrations: Sequence[Registration],
    retry: RetrySettings,
    counters: RetryCounters,
) -> Store:
    from adapters.dqlite.node import DqliteNode
    from adapters.dqlite.store import DqliteStore

    tls = _tls_files(settings)
    node = None
    if settings.embedded_node:
        node = DqliteNode(
            settings.node_id,
            settings.node_address,
            settings.data_dir,
            network_latency_ms=settings.network_latency_ms,
            private_network=settings.private_network,
            tls=tls,
        )
    return DqliteStore(
        address=settings.node_address,
        database=settings.database,
        peers=settings.peer_addresses,
        node=node,
        pool_size=settings.db_pool_size,
        statement_timeout=settings.db_timeout_seconds,
        startup_timeout=settings.startup_timeout,
        migrate=settings.migrate_on_startup,
        retry_settings=retry,
        retry_counters=counters,
        registrations=registrations,
        tls=tls,
    )


def _tls_files(settings: Settings) -> "TlsFiles | None":
    from adapters.dqlite.tls import TlsFiles

    if settings.tls_cert and settings.tls_key and settings.tls_ca:
        return TlsFiles(settings.tls_cert, settings.tls_key, settings.tls_ca)
    return None


def _cluster_admin(settings: Settings) -> "ClusterAdmin":
    from adapters.dqlite.admin import ClusterAdmin
    from adapters.dqlite.tls import tls_dialer

    tls = _tls_files(settings)
    addresses = [settings.node_address, *settings.peer_addresses]
    return ClusterAdmin(addresses, settings.database, tls_dialer(tls) if tls else None)


def _relay_holder(settings: Settings) -> str:
    """Names this process in the relay's lease (and in the logs)."""
    node = f"node {settings.node_id}, " if settings.embedded_node else ""
    return f"{socket.gethostname()} ({node}pid {os.getpid()})"


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    # The aggregates whose repositories every unit of work carries (tests may add their own).
    registrations: providers.Provider[Sequence[Registration]] = providers.Object(REPOSITORIES)
    retry_settings = providers.Singleton(
        RetrySettings, budget_seconds=settings.provided.retry_budget_seconds
    )
    retry_counters = providers.Singleton(RetryCounters)

    store: providers.Provider[Store] = providers.Selector(
        settings.provided.storage,
        dqlite=providers.Singleton(
            _dqlite_store, settings, registrations, retry_settings, retry_counters
        ),
        memory=providers.Singleton(
            InMemoryStore, retry_settings, retry_counters, registrations=registrations
        ),
    )

    # A new unit of work on every call: one per request, never shared.
    unit_of_work = providers.Factory(store.provided.unit_of_work.call())

    # Domain events: the handlers, and the relay that delivers the outbox to them.
    message_bus = providers.Singleton(MessageBus, providers.Object(HANDLERS), unit_of_work.provider)
    relay = providers.Singleton(
        OutboxRelay,
        unit_of_work.provider,
        message_bus,
        providers.Callable(_relay_holder, settings),
        providers.Factory(RelaySettings, lease_seconds=settings.provided.relay_lease_seconds),
    )

    # For the operators' command line.
    cluster_admin = providers.Factory(_cluster_admin, settings)
