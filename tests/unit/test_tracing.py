"""Traces on the in-memory store: a request's spans from the route to its unit of work, the
outbox's delivery in the same trace, retries as events, ids in the log, and what the OTLP and
console exporters send."""

import asyncio
import gzip
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adapters.memory.store import InMemoryStore
from domain.errors import NotFound
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.logs import JsonFormatter, TraceIds
from service.errors import StoreUnavailable
from service.retry import RetrySettings, retried
from service.tracing import Tracing
from tests.signing_in import signed_up
from tests.unit import probe_routes
from tests.unit.conftest import memory_settings
from tests.unit.probe_routes import PROBE, ProbeUnitOfWork


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def probe_app(container: Container) -> FastAPI:
    container.contexts.override(providers.Object((*container.contexts(), PROBE)))
    app = create_app(container)
    app.include_router(probe_routes.router)
    return app


@pytest.fixture
async def traced(spans: InMemorySpanExporter) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running in-memory app, its spans kept in `spans`."""
    container = Container()
    container.settings.override(providers.Object(memory_settings()))
    container.tracer_provider.override(providers.Object(traced_provider(spans)))
    app = probe_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.headers.update(await signed_up(client, "alice@example.org"))
            spans.clear()  # the signing up's
            yield client


def named(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [span for span in spans.get_finished_spans() if span.name == name]
    assert len(found) == 1, [span.name for span in spans.get_finished_spans()]
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def delivered(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    for _ in range(100):  # the relay looks as soon as the commit rings its bell
        if any(span.name == name for span in spans.get_finished_spans()):
            return named(spans, name)
        await asyncio.sleep(0.02)
    raise AssertionError(f"no span {name!r}: {[s.name for s in spans.get_finished_spans()]}")


def test_tracing_is_off_unless_an_exporter_is_chosen() -> None:
    container = Container()
    container.settings.override(providers.Object(memory_settings()))

    assert container.settings().otel_exporter == "none"
    assert container.tracer_provider() is None
    assert not container.tracing().on
    with Tracing().span("anything") as span:
        assert span is None
    assert Tracing().carrier() is None


async def test_a_request_s_spans_nest_from_the_route_to_its_unit_of_work(
    traced: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    answer = await traced.post("/probe/counts", json={"n": 1})

    assert answer.status_code == 201
    request = named(spans, "POST /probe/counts")
    use_case = named(spans, "count")
    unit_of_work = named(spans, "unit of work ProbeUnitOfWork")
    assert request.kind is SpanKind.SERVER
    assert request.parent is None
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 201
    assert parent_of(use_case) == request.context.span_id
    assert parent_of(unit_of_work) == use_case.context.span_id
    assert use_case.context.trace_id == unit_of_work.context.trace_id == request.context.trace_id


async def test_an_event_s_delivery_continues_the_trace_of_the_request_that_stored_it(
    traced: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    await traced.post("/probe/counts", json={"n": 2})

    delivery = await delivered(spans, "outbox deliver Counted")

    use_case = named(spans, "count")
    stored_in = next(
        span
        for span in spans.get_finished_spans()
        if span.name == "unit of work ProbeUnitOfWork"
        and parent_of(span) == use_case.context.span_id
    )
    assert delivery.kind is SpanKind.CONSUMER
    assert delivery.context.trace_id == named(spans, "POST /probe/counts").context.trace_id
    assert parent_of(delivery) == stored_in.context.span_id
    assert delivery.attributes is not None
    assert delivery.attributes["messaging.destination.name"] == "probe"


async def test_a_retried_use_case_shows_each_refused_attempt_as_an_event(
    spans: InMemorySpanExporter,
) -> None:
    refusals = [StoreUnavailable("no leader"), StoreUnavailable("electing")]

    @retried(idempotent=False)
    async def refused_twice(uow: ProbeUnitOfWork) -> str:
        if refusals:
            raise refusals.pop(0)
        return "done"

    store = InMemoryStore(
        RetrySettings(first_delay=0.001, max_delay=0.01),
        contexts=(PROBE,),
        tracing=Tracing(traced_provider(spans)),
    )

    assert await refused_twice(store.unit_of_work(ProbeUnitOfWork)) == "done"
    span = named(spans, "refused_twice")
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
        ("retry", {"attempt": 1, "error.type": "StoreUnavailable", "error.message": "no leader"}),
        ("retry", {"attempt": 2, "error.type": "StoreUnavailable", "error.message": "electing"}),
    ]
    assert span.status.status_code is StatusCode.UNSET


async def test_a_use_case_that_gives_up_fails_its_span_and_a_domain_error_does_not(
    spans: InMemorySpanExporter,
) -> None:
    @retried(idempotent=True)
    async def always_refused(uow: ProbeUnitOfWork) -> None:
        raise StoreUnavailable("no quorum")

    @retried(idempotent=True)
    async def finds_nothing(uow: ProbeUnitOfWork) -> None:
        raise NotFound("thing", "7")

    store = InMemoryStore(
        RetrySettings(budget_seconds=0.05, first_delay=0.01, max_delay=0.01),
        contexts=(PROBE,),
        tracing=Tracing(traced_provider(spans)),
    )
    with pytest.raises(StoreUnavailable):
        await always_refused(store.unit_of_work(ProbeUnitOfWork))
    with pytest.raises(NotFound):
        await finds_nothing(store.unit_of_work(ProbeUnitOfWork))

    failed, refused = named(spans, "always_refused"), named(spans, "finds_nothing")
    assert failed.status.status_code is StatusCode.ERROR
    assert [event.name for event in failed.events][-1] == "exception"
    assert refused.status.status_code is StatusCode.UNSET
    assert refused.attributes is not None
    assert refused.attributes["app.outcome"] == "NotFound"


def test_a_log_line_in_a_traced_request_carries_its_trace_and_span_ids(
    spans: InMemorySpanExporter,
) -> None:
    tracing = Tracing(traced_provider(spans))
    formatter, ids = JsonFormatter(), TraceIds()

    def logged(message: str) -> dict[str, Any]:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
        ids.filter(record)
        return dict(json.loads(formatter.format(record)))

    with tracing.span("request") as span:
        inside = logged("inside")
    outside = logged("outside")

    assert span is not None
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in outside
    assert "span_id" not in outside


SERVICE = "service.name"


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint: what each POST to /v1/traces carried, decoded."""

    received: ClassVar[list[tuple[str, str, ExportTraceServiceRequest]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        decoded = ExportTraceServiceRequest.FromString(body)
        self.received.append((self.path, self.headers["Content-Type"], decoded))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    """The base URL of an OTLP/HTTP collector on 127.0.0.1, on a port the kernel chose."""
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_the_otlp_exporter_sends_the_spans_to_the_collector_as_protobuf(
    collector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "traced-in-a-test")
    container = Container()
    container.settings.override(providers.Object(memory_settings(otel_exporter="otlp")))
    app = probe_app(container)

    async with app.router.lifespan_context(app):  # its end exports what the batch holds
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.headers.update(await signed_up(client, "alice@example.org"))
            assert (await client.post("/probe/counts", json={"n": 3})).status_code == 201

    sent = [
        (resource, span)
        for path, content_type, request in Collector.received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
        if path == "/v1/traces" and content_type == "application/x-protobuf"
    ]
    names = {span.name for _, span in sent}
    assert {"POST /probe/counts", "count", "unit of work ProbeUnitOfWork"} <= names
    request = next(span for _, span in sent if span.name == "POST /probe/counts")
    use_case = next(span for _, span in sent if span.name == "count")
    assert use_case.trace_id == request.trace_id
    assert len(request.trace_id) == 16
    services = {
        a.value.string_value for r, _ in sent for a in r.resource.attributes if a.key == SERVICE
    }
    assert services == {"traced-in-a-test"}


async def test_the_console_exporter_prints_each_span_as_it_ends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    container = Container()
    container.settings.override(providers.Object(memory_settings(otel_exporter="console")))
    app = probe_app(container)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.headers.update(await signed_up(client, "alice@example.org"))
            await client.post("/probe/counts", json={"n": 4})

    printed = capsys.readouterr().out
    assert '"name": "POST /probe/counts"' in printed
    assert '"name": "count"' in printed
