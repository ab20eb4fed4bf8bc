"""The FastAPI application factory; the lifespan starts and stops the store and the relays of
the contexts' outboxes."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi_standalone_docs import StandaloneDocs
from opentelemetry.trace import TracerProvider

from entrypoints.api import ROUTERS
from entrypoints.container import Container
from entrypoints.guards import LimitRequestBodies, RefuseUndecodablePaths
from entrypoints.idempotency import ReleaseKeys, replay
from entrypoints.logs import log_request
from entrypoints.metrics import Metrics
from entrypoints.problems import EVERY_OPERATION, document_problems, install_problem_handlers
from entrypoints.request_ids import RequestIds
from service.idempotency import AnswerReplayed
from service.operations import Store

logger = logging.getLogger(__name__)
# Probes and scrapes, asked for every few seconds: a trace each would bury the requests'.
UNTRACED = frozenset({"/health", "/ready", "/metrics"})


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    store: Store = app.state.store
    try:
        await store.start()
    except Exception as error:
        logger.critical("cannot start the store: %s", error)
        raise
    relays = []
    if app.state.container.settings().outbox_relay:
        relays = [
            asyncio.create_task(relay.run(), name=f"outbox relay of {relay.context}")
            for relay in app.state.relays
        ]
    try:
        yield
    finally:
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        await store.stop()
        if (provider := app.state.container.tracer_provider()) is not None:
            await asyncio.to_thread(provider.shutdown)  # what a batch holds is exported first


def _telemetry(provider: TracerProvider | None) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry: a span per request, when tracing. Its spans around the
    dependencies, the route and the serialization stay off: they cost 45 µs a request even
    in a trace not sampled (a GET on memory, called in one process), and the use case's span
    shows where the route's time goes. Its metrics and logs stay off too (/metrics and the JSON
    log have them). Off, nothing is looked up per request."""
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False}
    return {
        "tracer_provider": provider,
        "operation_spans": False,
        "metrics": False,
        "logs": False,
        "auto_configure": False,
        "exclude": lambda scope: scope.get("path") in UNTRACED,
    }


def operation_id(route: APIRoute) -> str:
    """`<tag>-<function>` (e.g. `auth-register`): unique, stable, and what a generated client
    names its functions by."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(container: Container | None = None) -> FastAPI:
    container = container or Container()
    settings = container.settings()
    app = FastAPI(
        title="DDD on dqlite",
        lifespan=_lifespan,
        generate_unique_id_function=operation_id,
        telemetry=_telemetry(container.tracer_provider()),
    )
    # /docs and /redoc with Swagger UI's and ReDoc's files served from the installed package,
    # not a CDN: the pages work on a network with no way out.
    StandaloneDocs(app)
    app.state.container = container
    app.state.store = container.store()
    app.state.relays = container.relays()
    app.state.token_verifier = container.token_verifier()
    app.state.credentials = container.credentials()
    app.state.jwks = container.jwks()
    app.state.metrics_role = settings.metrics_role
    app.state.keys_in_flight = set()  # (scope, Idempotency-Key) of the requests being answered
    figures = {relay.context: relay.figures for relay in app.state.relays}
    app.state.metrics = Metrics(container.retry_counters(), figures)
    app.state.metrics.install(app, also=log_request if settings.access_log else None)
    app.add_middleware(ReleaseKeys)
    app.add_middleware(RefuseUndecodablePaths)
    app.add_middleware(
        LimitRequestBodies,
        max_bytes=settings.max_body_bytes,
        idle_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(RequestIds)  # added last, so it runs first: every log line has the id
    for router in ROUTERS:
        app.include_router(router, responses=EVERY_OPERATION)
    install_problem_handlers(app)
    app.add_exception_handler(AnswerReplayed, replay)
    document_problems(app)
    return app
