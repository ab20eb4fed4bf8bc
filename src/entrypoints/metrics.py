"""Prometheus metrics: requests and latencies as they happen, the store's state when scraped."""

import time
from collections.abc import Callable, Iterable, Mapping

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.operations import StoreStatus
from service.outbox import OutboxCounts
from service.relay import RelayFigures
from service.retry import RetryCounters

# What else sees each request once it is answered: method, route, status, seconds.
type RequestObserver = Callable[[str, str, int, float], None]
ROLES = ("voter", "standby", "spare")
# Label values come from bounded sets: a client may send any token as its method (uvicorn takes
# it), and one label value per distinct method would let a client grow /metrics without end.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _RetryCollector(Collector):
    def __init__(self, counters: RetryCounters) -> None:
        self._counters = counters

    def collect(self) -> Iterable[Metric]:
        counters = self._counters
        yield CounterMetricFamily(
            "use_case_retries", "Use cases run again after the store refused them", counters.retries
        )
        yield CounterMetricFamily(
            "use_case_unknown_outcomes", "Commits whose outcome was lost", counters.unknown_outcomes
        )
        yield CounterMetricFamily(
            "use_case_gave_up", "Use cases that ran out of retry budget", counters.gave_up
        )


class _RelayCollector(Collector):
    """What this process's relays did, one series per context (each relays its own outbox)."""

    def __init__(self, relays: Mapping[str, RelayFigures]) -> None:
        self._relays = relays

    def collect(self) -> Iterable[Metric]:
        families = {
            "delivered": CounterMetricFamily(
                "outbox_delivered", "Events this process delivered", labels=["context"]
            ),
            "failed": CounterMetricFamily(
                "outbox_delivery_failures", "Deliveries whose handler failed", labels=["context"]
            ),
            "parked": CounterMetricFamily(
                "outbox_parked", "Events this process parked", labels=["context"]
            ),
        }
        holding = GaugeMetricFamily(
            "outbox_relay_holding",
            "1 while this process holds the context's relay lease",
            labels=["context"],
        )
        for context, figures in self._relays.items():
            for name, family in families.items():
                family.add_metric([context], getattr(figures, name))
            holding.add_metric([context], 1 if figures.holding else 0)
        yield from families.values()
        yield holding


class _RoundTripCollector(Collector):
    """The store's count of round trips, as of the last scrape."""

    def __init__(self) -> None:
        self.round_trips = 0

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "dqlite_round_trips",
            "Requests this process's connections sent to dqlite nodes (each answered once)",
            self.round_trips,
        )


class Metrics:
    """One registry per app, so that apps built side by side (as in tests) do not collide."""

    def __init__(self, retry_counters: RetryCounters, relays: Mapping[str, RelayFigures]) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP latency", ["method", "route"], registry=registry
        )
        self.pool_size = Gauge("db_pool_size", "Connection pool size", registry=registry)
        self.in_use = Gauge("db_connections_in_use", "Connections checked out", registry=registry)
        self.role = Gauge("dqlite_node_role", "1 for this node's role", ["role"], registry=registry)
        self.leader = Gauge("dqlite_leader_id", "The leader's node id (0: none)", registry=registry)
        self.pending = Gauge(
            "outbox_events_pending",
            "Events stored, not yet delivered",
            ["context"],
            registry=registry,
        )
        self.parked = Gauge(
            "outbox_events_parked",
            "Events kept back after failing (see the CLI)",
            ["context"],
            registry=registry,
        )
        # Each label set's child, looked up once: `labels()` cost 1.6% of a GET on memory.
        self._latency_of: dict[tuple[str, str], Histogram] = {}
        self._requests_of: dict[tuple[str, str, int], Counter] = {}
        registry.register(_RetryCollector(retry_counters))
        registry.register(_RelayCollector(relays))
        self._round_trips = _RoundTripCollector()
        registry.register(self._round_trips)

    def install(self, app: FastAPI, *, also: RequestObserver | None = None) -> None:
        """Measure every request of `app`, and tell `also` (e.g. the access log) of each."""
        app.add_middleware(_MeasureRequests, metrics=self, also=also)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        latency = self._latency_of.get((method, route))
        if latency is None:
            latency = self._latency_of[method, route] = self.latency.labels(method, route)
        requests = self._requests_of.get((method, route, status))
        if requests is None:
            requests = self._requests_of[method, route, status] = self.requests.labels(
                method, route, str(status)
            )
        latency.observe(seconds)
        requests.inc()

    def render(self, status: StoreStatus, outboxes: Mapping[str, OutboxCounts | None]) -> bytes:
        for context, outbox in outboxes.items():
            if outbox is not None:  # None: the context's database did not answer
                self.pending.labels(context).set(outbox.pending)
                self.parked.labels(context).set(outbox.parked)
        self._round_trips.round_trips = status.round_trips
        self.pool_size.set(status.pool_size)
        self.in_use.set(status.connections_in_use)
        self.leader.set(status.leader_id or 0)
        for role in ROLES:
            self.role.labels(role).set(1 if status.role == role else 0)
        return generate_latest(self.registry)


class _MeasureRequests:
    """Counts and times every HTTP request by method, route and status.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware("http")`) runs
    each request through an extra task and memory stream, which showed in the profile.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, also: RequestObserver | None) -> None:
        self.app = app
        self.metrics = metrics
        self.also = also

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # set by the router
            method = scope["method"] if scope["method"] in METHODS else "other"
            seconds = time.perf_counter() - started
            self.metrics.observe_request(method, route, status, seconds)
            if self.also is not None:
                self.also(method, route, status, seconds)
