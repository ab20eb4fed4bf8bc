"""The composition root: the one module that knows which adapters implement the ports.

The dqlite adapters are imported only when the settings ask for dqlite, so the app runs with
APP_STORAGE=memory on a machine without the dqlite stack.
"""

import functools
import hashlib
import os
import socket
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.contexts import CONTEXTS, Context
from adapters.memory.store import InMemoryStore
from adapters.oidc import OidcVerifier
from adapters.passwords import Argon2Passwords
from adapters.tokens import Audience, JwtAccessTokens, JwtVerifier, KeyRing
from adapters.tracing import tracer_provider as sdk_tracer_provider
from domain.login_attempts import LoginLimit
from entrypoints.settings import Settings
from service.handlers import HANDLERS
from service.identity import AbstractTokenVerifier, Credentials
from service.messagebus import MessageBus
from service.operations import Store
from service.relay import OutboxRelay, RelaySettings
from service.retry import RetryCounters, RetrySettings
from service.tracing import Tracing

if TYPE_CHECKING:
    from adapters.dqlite.admin import ClusterAdmin
    from adapters.dqlite.tls import TlsFiles

# The dqlite adapters' import lines are in the functions below: importing adapters.dqlite
# loads the dqlite client stack, which an in-memory run must not need.


def _dqlite_store(
    settings: Settings,
    contexts: Sequence[Context],
    retry: RetrySettings,
    counters: RetryCounters,
    tracing: Tracing,
) -> Store:
    from adapters.dqlite.node import DqliteNode, SnapshotParams
    from adapters.dqlite.store import DqliteStore

    tls = _tls_files(settings)
    node = None
    if settings.embedded_node:
        node = DqliteNode(
            settings.node_id,
            settings.node_address,
            settings.data_dir,
            disk_reserve_bytes=settings.disk_reserve_mb * 2**20,
            network_latency_ms=settings.network_latency_ms,
            snapshot=SnapshotParams(settings.snapshot_threshold, settings.snapshot_trailing),
            private_network=settings.private_network,
            tls=tls,
        )
    return DqliteStore(
        address=settings.node_address,
        peers=settings.peer_addresses,
        node=node,
        pool_size=settings.db_pool_size,
        statement_timeout=settings.db_timeout_seconds,
        startup_timeout=settings.startup_timeout,
        migrate=settings.migrate_on_startup,
        retry_settings=retry,
        retry_counters=counters,
        contexts=contexts,
        database_prefix=settings.database_prefix,
        tls=tls,
        sibling_locks=_sibling_locks(settings),
        tracing=tracing,
    )


def _sibling_locks(settings: Settings) -> Path | None:
    """Where the worker processes of one app (APP_WORKERS > 1) take turns at each database's
    write lock: a directory named after the node's data dir, which they share."""
    if settings.workers == 1:
        return None
    named = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"app-write-locks-{named}"


def _tls_files(settings: Settings) -> "TlsFiles | None":
    from adapters.dqlite.tls import TlsFiles

    if settings.tls_cert and settings.tls_key and settings.tls_ca:
        return TlsFiles(settings.tls_cert, settings.tls_key, settings.tls_ca)
    return None


def _cluster_admin(settings: Settings, contexts: Sequence[Context]) -> "ClusterAdmin":
    from adapters.dqlite.admin import ClusterAdmin
    from adapters.dqlite.tls import tls_dialer

    tls = _tls_files(settings)
    addresses = [settings.node_address, *settings.peer_addresses]
    dial = tls_dialer(tls) if tls else None
    return ClusterAdmin(addresses, contexts, settings.database_prefix, dial)


def _relay_holder(settings: Settings) -> str:
    """Names this process in the relay's lease (and in the logs)."""
    node = f"node {settings.node_id}, " if settings.embedded_node else ""
    return f"{socket.gethostname()} ({node}pid {os.getpid()})"


def _relay_settings(settings: Settings) -> RelaySettings:
    return RelaySettings(
        lease_seconds=settings.relay_lease_seconds,
        keep_answers_seconds=settings.idempotency_retention_hours * 3600,
    )


def _relays(
    store: Store,
    contexts: Sequence[Context],
    bus: MessageBus,
    holder: str,
    settings: RelaySettings,
    tracing: Tracing,
) -> tuple[OutboxRelay, ...]:
    """A relay per context: each database has its outbox, and its lease."""
    return tuple(
        OutboxRelay(
            functools.partial(store.unit_of_work, context.unit_of_work),
            bus,
            holder,
            settings,
            context=context.name,
            bell=store.outbox_bell(context.unit_of_work),
            tracing=tracing,
        )
        for context in contexts
    )


def _key_ring(settings: Settings) -> KeyRing:
    """The configured keys; else, for development, a pair made once under the key dir (the
    data dir's auth/), or one for this process alone when nothing is stored on disk."""
    if settings.auth_signing_key:
        return KeyRing.from_files(settings.auth_signing_key, settings.previous_key_paths)
    if settings.storage == "memory" and settings.auth_key_dir is None:
        return KeyRing.ephemeral()
    return KeyRing.generated_under(settings.auth_key_dir or settings.data_dir / "auth")


def _jwks(settings: Settings, keys: providers.Provider[KeyRing]) -> dict[str, object]:
    if settings.auth_mode != "local":
        return {"keys": []}  # the issuer publishes its own
    return dict(keys().jwks())


def _credentials(
    settings: Settings, keys: providers.Provider[KeyRing], audience: Audience
) -> Credentials | None:
    """What signing people in needs: nothing when another issuer signs them in."""
    if settings.auth_mode != "local":
        return None
    passwords = Argon2Passwords(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    lifetime = settings.access_token_minutes * 60
    return Credentials(
        passwords,
        JwtAccessTokens(keys(), audience, lifetime),
        timedelta(days=settings.refresh_token_days),
        LoginLimit(settings.login_attempts_per_minute),
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    # The bounded contexts, each a database with its aggregates' repositories (tests may
    # give their own).
    contexts: providers.Provider[Sequence[Context]] = providers.Object(CONTEXTS)
    retry_settings = providers.Singleton(
        RetrySettings, budget_seconds=settings.provided.retry_budget_seconds
    )
    retry_counters = providers.Singleton(RetryCounters)
    # Traces (APP_OTEL_EXPORTER): the SDK's provider, or None when off (tests give their own).
    tracer_provider = providers.Singleton(sdk_tracer_provider, settings.provided.otel_exporter)
    tracing = providers.Singleton(Tracing, tracer_provider)

    store: providers.Provider[Store] = providers.Selector(
        settings.provided.storage,
        dqlite=providers.Singleton(
            _dqlite_store, settings, contexts, retry_settings, retry_counters, tracing
        ),
        memory=providers.Singleton(
            InMemoryStore, retry_settings, retry_counters, contexts=contexts, tracing=tracing
        ),
    )

    # Domain events: the handlers, and a relay per context that delivers its outbox to them.
    # Each handler gets a new unit of work of its own context (store.unit_of_work(context)).
    message_bus = providers.Singleton(
        MessageBus, providers.Object(HANDLERS), store.provided.unit_of_work, tracing
    )
    relays = providers.Singleton(
        _relays,
        store,
        contexts,
        message_bus,
        providers.Callable(_relay_holder, settings),
        providers.Callable(_relay_settings, settings),
        tracing,
    )

    # Who is asking: tokens this service signs, or (APP_AUTH_MODE=oidc) another issuer's.
    key_ring = providers.Singleton(_key_ring, settings)
    local_audience = providers.Singleton(
        Audience,
        settings.provided.auth_issuer,
        settings.provided.auth_audience,
        settings.provided.auth_leeway_seconds,
    )
    credentials = providers.Singleton(_credentials, settings, key_ring.provider, local_audience)
    token_verifier: providers.Provider[AbstractTokenVerifier] = providers.Selector(
        settings.provided.auth_mode,
        local=providers.Singleton(JwtVerifier, key_ring, local_audience),
        oidc=providers.Singleton(
            OidcVerifier,
            settings.provided.oidc_jwks_url,
            providers.Singleton(
                Audience,
                settings.provided.oidc_issuer,
                settings.provided.oidc_audience,
                settings.provided.auth_leeway_seconds,
            ),
            settings.provided.oidc_roles_claim,
        ),
    )
    jwks = providers.Singleton(_jwks, settings, key_ring.provider)

    # For the operators' command line.
    cluster_admin = providers.Factory(_cluster_admin, settings, contexts)
