"""The process's logging: one JSON object per line when the output is not a terminal (for log
collectors), a readable line when it is. Every record carries its request's id, and a traced
request's records their trace's and span's ids."""

import json
import logging
import sys
from typing import Any, TextIO

from opentelemetry import trace

from entrypoints.request_ids import RequestIdFilter

# What a record may carry beyond its message (see TraceIds and log_request), in this order.
EXTRA_FIELDS = ("trace_id", "span_id", "method", "route", "status", "latency_ms")
READABLE = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

request_log = logging.getLogger("entrypoints.requests")


def log_request(method: str, route: str, status: int, seconds: float) -> None:
    """The access log's line of a request: its route's template, never its path, query or
    body (APP_ACCESS_LOG)."""
    latency_ms = round(seconds * 1000, 1)
    fields = {"method": method, "route": route, "status": status, "latency_ms": latency_ms}
    request_log.info("%s %s %s %.1f ms", method, route, status, latency_ms, extra=fields)


class TraceIds(logging.Filter):
    """Gives a record logged in a traced request (or delivery) the ids of its trace and span,
    as the trace's backends show them; untraced, the record has neither."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry |= {key: getattr(record, key) for key in EXTRA_FIELDS if hasattr(record, key)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(stream: TextIO = sys.stderr) -> None:
    """Log everything at INFO and above (uvicorn's own loggers too) to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(TraceIds())
    handler.setFormatter(logging.Formatter(READABLE) if stream.isatty() else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
