"""Spans of the use cases, the units of work and the outbox, through OpenTelemetry's API.

Tracing is off unless the composition root gives a tracer provider (APP_OTEL_EXPORTER); off,
every call here returns at once and a span costs a null context. What a span is given as its
error is either an outcome the caller is told of (a domain error, a replayed answer), recorded
as `app.outcome`, or a failure: the exception recorded and the status set to ERROR.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import Token

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, StatusCode, TracerProvider

from domain.errors import DomainError
from service.idempotency import AnswerReplayed

SCOPE = __name__  # the instrumentation scope of the spans made here
_OFF: AbstractContextManager[None] = nullcontext()
type Attributes = Mapping[str, str | bool | int | float]


class Tracing:
    """Makes the spans of this process's use cases, units of work and outbox deliveries."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer(SCOPE) if provider is not None else None

    @property
    def on(self) -> bool:
        return self._tracer is not None

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes | None = None,
        parent: Context | None = None,
        links: Sequence[SpanContext] = (),
    ) -> AbstractContextManager[Span | None]:
        """A span, current while the block runs (`parent`: else the current span's child);
        None inside a trace that is not sampled, whose spans would record nothing."""
        if self._tracer is None or (parent is None and _unsampled()):
            return _OFF
        return self._current(name, kind, attributes, parent, links)

    @contextmanager
    def _current(
        self,
        name: str,
        kind: SpanKind,
        attributes: Attributes | None,
        parent: Context | None,
        links: Sequence[SpanContext],
    ) -> Iterator[Span]:
        assert self._tracer is not None
        with self._tracer.start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes=attributes,
            links=[Link(linked) for linked in links if linked.is_valid],
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as error:
                ended_by(span, error)
                raise

    def open(self, name: str, attributes: Attributes | None = None) -> "OpenSpan | None":
        """A span made current until `OpenSpan.end()`, for a block that begins in one method and
        ends in another (a unit of work); None when off, outside any span (work such as a
        relay's polling is not traced on its own), or inside a trace not sampled."""
        current = trace.get_current_span()
        if self._tracer is None or not current.is_recording():
            return None
        span = self._tracer.start_span(name, attributes=attributes)
        return OpenSpan(span, otel_context.attach(trace.set_span_in_context(span)))

    def carrier(self) -> dict[str, str] | None:
        """The current span's context as W3C trace context headers, for what is stored now and
        continued later (an outbox event), or None when off or outside any span."""
        if self._tracer is None:
            return None
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier or None

    @staticmethod
    def continued(carrier: Mapping[str, str] | None) -> Context | None:
        """The context a `carrier()` saved, to parent the spans that continue it."""
        return propagate.extract(carrier) if carrier else None


class OpenSpan:
    def __init__(self, span: Span, token: Token[Context]) -> None:
        self.span = span
        self._token = token

    def end(self, error: BaseException | None = None) -> None:
        if error is not None:
            ended_by(self.span, error)
        otel_context.detach(self._token)
        self.span.end()


def _unsampled() -> bool:
    """Inside a trace whose sampler said no (a child of its span would record nothing)."""
    current = trace.get_current_span()
    return current.get_span_context().is_valid and not current.is_recording()


def ended_by(span: Span, error: BaseException) -> None:
    if isinstance(error, DomainError | AnswerReplayed):
        span.set_attribute("app.outcome", type(error).__name__)
    else:
        span.record_exception(error)
        span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")


def current_span_context() -> SpanContext:
    return trace.get_current_span().get_span_context()
