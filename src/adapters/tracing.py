"""OpenTelemetry's SDK for this process, as APP_OTEL_EXPORTER asks, and a span per SQL statement
from the SQLAlchemy instrumentation."""

import sys
from typing import Any, Literal, cast

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.trace import TracerProvider as AnyTracerProvider
from opentelemetry.trace import get_current_span
from sqlalchemy.ext.asyncio import AsyncEngine

type Exporter = Literal["none", "otlp", "console"]
SERVICE = "dqlite-ddd-template"  # the service's name unless OTEL_SERVICE_NAME gives one
STATEMENTS_SCOPE = "opentelemetry.instrumentation.sqlalchemy"


def tracer_provider(exporter: Exporter) -> TracerProvider | None:
    """None ("none": no tracing); else the SDK's provider, which reads the standard OTEL_*
    variables (OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT and the
    exporter's others), exporting in batches over OTLP/HTTP ("otlp"), or printing each span
    as it ends ("console", for development)."""
    if exporter == "none":
        return None
    provider = TracerProvider(resource=_resource())
    processor: SpanProcessor
    if exporter == "otlp":
        processor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        processor = SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout))  # stdout now
    provider.add_span_processor(processor)
    return provider


def _resource() -> Resource:
    found = Resource.create()  # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
    if str(found.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return found.merge(Resource({SERVICE_NAME: SERVICE}))
    return found


def trace_statements(provider: AnyTracerProvider, *engines: AsyncEngine) -> None:
    """A CLIENT span for each statement these engines run, a child of the span current then.

    The instrumentation's engine tracer is attached to each engine alone: its instrumentor
    patches SQLAlchemy for the whole process and can be applied once per process, where each
    store (and each test's) has engines of its own. /metrics has the pool's figures."""
    tracer = provider.get_tracer(STATEMENTS_SCOPE, __version__)
    usage = NoOpMeterProvider().get_meter(STATEMENTS_SCOPE).create_up_down_counter("unused")
    for engine in engines:
        _StatementSpans(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


class _StatementSpans(EngineTracer):
    """The instrumentation's engine tracer, making a span only as a child of one that records
    (not for a relay's polling, nor in a trace the sampler left out: checking first spares the
    work it does before asking the sampler), and keeping no connection-pool metric."""

    def _before_cur_exec(self, *arguments: Any) -> tuple[Any, Any]:
        if not get_current_span().is_recording():
            statement, parameters = arguments[2], arguments[3]
            return statement, parameters
        found = super()._before_cur_exec(*arguments)  # type: ignore[no-untyped-call]
        return cast(tuple[Any, Any], found)

    def _pool_connect(self, *arguments: Any) -> None:
        pass

    _pool_close = _pool_checkin = _pool_checkout = _pool_connect
