"""Settings read from the environment (prefix APP_), e.g. APP_NODE_ADDRESS=127.0.0.1:9001."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="In production, missing signing keys stop the start."
    )
    storage: Literal["dqlite", "memory"] = "dqlite"
    embedded_node: bool = Field(True, description="Run a dqlite node inside this process.")
    node_id: int = Field(1, ge=1)
    node_address: str = "127.0.0.1:9001"
    peers: str = Field("", description="Other nodes' dqlite addresses, comma-separated.")
    network_latency_ms: int | None = Field(
        10,
        ge=1,
        le=3_600_000,
        description="Raft's election timeout is 15x this; None: libdqlite's 3 s.",
    )
    # A node snapshots its databases every `snapshot_threshold` raft entries (a committed write
    # transaction is one: ~12 KB for a todo written through the app), then drops all but the
    # last `snapshot_trailing` entries from memory and from its log's segment files. So RAM and
    # disk hold up to threshold + trailing entries beside the databases, which libdqlite keeps
    # in memory (minutes 3-6 of `make soak`: a 51-66 MB log, a 177-180 MB app; libdqlite's own
    # 1024 + 8192, 121-130 MB and 247-252 MB). Each snapshot writes every database in full
    # (LZ4, the last two kept), so the threshold stays libdqlite's: one every 17 s at 60 writes/s.
    # A follower more than the trailing entries behind (34 s of writes at that pace) is sent the
    # whole snapshot instead of the entries, and holds it and the pages restored from it in
    # memory at once.
    snapshot_threshold: int = Field(1024, ge=1, le=2**31, description="Entries per snapshot.")
    snapshot_trailing: int = Field(
        2048, ge=4, le=2**31, description="Entries kept after one; at least the threshold."
    )
    private_network: bool = Field(
        False, description="Allow a non-loopback node address: its network is firewalled."
    )
    tls_cert: Path | None = Field(
        None, description="This node's certificate (PEM), signed by APP_TLS_CA: mutual TLS."
    )
    tls_key: Path | None = Field(None, description="The key of APP_TLS_CERT (PEM).")
    tls_ca: Path | None = Field(None, description="The cluster's CA certificate (PEM).")
    data_dir: Path = Path(".data/single-node")
    disk_reserve_mb: int = Field(
        32,
        ge=16,  # a node stopped at the reserve must still have the 8 MB it needs to start
        description="Writes get a 507 while the node's disk has less free than this.",
    )
    database_prefix: str = Field(
        "", description="Each bounded context's database is named this and the context's name."
    )
    db_pool_size: int = Field(10, ge=1)
    db_timeout_seconds: float = Field(
        2.0, gt=0, description="Per wire round trip; then the request looks for a new leader."
    )
    startup_timeout: float = Field(30.0, gt=0, description="For the node, the join, a leader.")
    migrate_on_startup: bool = True
    retry_budget_seconds: float = Field(8.0, ge=0, description="How long a use case retries.")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(
        1, ge=1, le=64, description="Processes serving the API port; the first holds the node."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=0, description="Larger request bodies get a 413 before they are read."
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="A body that stops arriving this long gets a 408."
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="A connection whose request headers take longer is closed (with a 408).",
    )
    access_log: bool = Field(
        False, description="A log line per request (/metrics counts them either way)."
    )
    otel_exporter: Literal["none", "otlp", "console"] = Field(
        "none",
        description="Traces: none; otlp, to OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP), sampled as "
        "OTEL_TRACES_SAMPLER says; or console (stdout).",
    )
    outbox_relay: bool = Field(
        True, description="Deliver stored domain events (the lease holder among the apps does)."
    )
    relay_lease_seconds: float = Field(
        5.0, gt=0, description="How long a relay that stopped answering keeps the others out."
    )
    idempotency_retention_hours: float = Field(
        24.0,
        gt=0,
        description="How long the answer to a request sent with an Idempotency-Key is kept "
        "(the outbox's relay forgets older ones).",
    )
    auth_mode: Literal["local", "oidc"] = Field(
        "local", description="local: this service signs people in; oidc: another issuer does."
    )
    auth_signing_key: Path | None = Field(
        None, description="Ed25519 private key (PEM) that signs access tokens, on every node."
    )
    auth_previous_keys: str = Field(
        "", description="Keys (PEM, public or private) that still verify, comma-separated."
    )
    auth_key_dir: Path | None = Field(
        None, description="Where a key is made when none is configured; default data_dir/auth."
    )
    auth_issuer: str = "ddd-dqlite"
    auth_audience: str = "ddd-dqlite"
    auth_leeway_seconds: int = Field(30, ge=0, le=300)
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(30, ge=1, le=365)
    login_attempts_per_minute: int = Field(
        10, ge=1, description="Failed sign-ins per email and per client address."
    )
    password_hash_time_cost: int = Field(3, ge=1, description="Argon2id passes.")
    password_hash_memory_kib: int = Field(65_536, ge=8, description="Argon2id memory.")
    password_hash_parallelism: int = Field(4, ge=1)
    oidc_jwks_url: str = Field("", description="APP_AUTH_MODE=oidc: the issuer's JWKS URL.")
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_roles_claim: str = Field("roles", description="Dotted path of the roles claim.")
    metrics_role: str | None = Field(
        None, description="If set, /metrics needs a token with this role."
    )

    @model_validator(mode="after")
    def _oidc_needs_its_issuer(self) -> Self:
        if self.auth_mode == "oidc" and not (
            self.oidc_jwks_url and self.oidc_issuer and self.oidc_audience
        ):
            raise ValueError(
                "APP_AUTH_MODE=oidc needs APP_OIDC_JWKS_URL, APP_OIDC_ISSUER and APP_OIDC_AUDIENCE"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_keys(self) -> Self:
        if (
            self.environment == "production"
            and self.auth_mode == "local"
            and not (self.auth_signing_key)
        ):
            raise ValueError(
                "APP_ENVIRONMENT=production needs APP_AUTH_SIGNING_KEY: the key that signs "
                "access tokens, the same file on every node (docs/security.md)"
            )
        return self

    @property
    def previous_key_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.auth_previous_keys.split(",") if p.strip()]

    @model_validator(mode="after")
    def _workers_share_one_store(self) -> Self:
        if self.workers > 1 and self.storage == "memory":
            raise ValueError(
                "APP_WORKERS > 1 needs APP_STORAGE=dqlite: with APP_STORAGE=memory each worker "
                "process would keep a store of its own"
            )
        return self

    @model_validator(mode="after")
    def _trailing_covers_threshold(self) -> Self:
        if self.snapshot_trailing < self.snapshot_threshold:  # libdqlite 1.11 refuses it
            raise ValueError("APP_SNAPSHOT_TRAILING must be at least APP_SNAPSHOT_THRESHOLD")
        return self

    @model_validator(mode="after")
    def _tls_all_or_nothing(self) -> Self:
        given = [self.tls_cert, self.tls_key, self.tls_ca]
        if any(given) and not all(given):
            raise ValueError("TLS needs all of APP_TLS_CERT, APP_TLS_KEY and APP_TLS_CA")
        return self

    @property
    def peer_addresses(self) -> list[str]:
        return [peer.strip() for peer in self.peers.split(",") if peer.strip()]
