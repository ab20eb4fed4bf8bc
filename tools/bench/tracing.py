"""What tracing costs: three apps, each on a node of its own, one with tracing off, one
sampling every trace, one sampling 1 in 100 (both exporting over OTLP/HTTP in batches to a
collector the bench runs, which reads what it is sent and drops it), under the same loads in
turn: off, 100%, 1% for each endpoint and client count, so that drift in the machine's speed
falls on all three alike.
"""

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tools.bench.apps import running_apps
from tools.bench.client import post, sign_in
from tools.bench.loads import ENDPOINTS, load
from tools.bench.measure import Figure

TRACED_ENDPOINTS = {target: ENDPOINTS[target] for target in ("GET /todos/{key}", "POST /todos")}
LEVELS = {  # the level's name: the app's settings
    "off": {},
    "100%": {"OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    "1%": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"},
}
CLIENTS = (1, 16)


def traced_backend(level: str) -> str:
    return f"node, tracing {level}"


@dataclass
class Exported:
    """What the collector received from one app."""

    batches: int = 0
    bytes: int = 0
    spans_in_first_batch: int = 0


class _Collector(BaseHTTPRequestHandler):
    exported: ClassVar[dict[str, Exported]] = {}  # by the path the app sends to

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        found = self.exported.setdefault(self.path, Exported())
        if found.batches == 0:  # decoded once: decoding each would load the bench's process
            request = ExportTraceServiceRequest.FromString(body)
            found.spans_in_first_batch = sum(
                len(scope.spans) for r in request.resource_spans for scope in r.scope_spans
            )
        found.batches += 1
        found.bytes += len(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _collector() -> Iterator[str]:
    _Collector.exported = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def measure_tracing(
    workdir: Path, clients: list[int], seconds: float
) -> tuple[list[Figure], dict[str, dict[str, int]]]:
    """The loads at each level (at the run's client counts among CLIENTS); and per level, what
    was exported (batches, bytes, and the spans of the first batch: tracing reached the
    collector)."""
    figures: list[Figure] = []
    counts = [count for count in clients if count in CLIENTS] or clients[:1]
    with _collector() as url, ExitStack() as stack:
        apps = {}
        for level, settings in LEVELS.items():
            if settings:
                path = f"/{level.rstrip('%')}/v1/traces"  # each app's batches apart
                settings = {
                    **settings,
                    "APP_OTEL_EXPORTER": "otlp",
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + path,
                }
            name = level.rstrip("%") or "off"
            app = stack.enter_context(running_apps(workdir / f"traced-{name}", "node", settings))[0]
            authorization = sign_in(app)
            post(f"{app.url}/todos", {"key": "seed-1", "value": "seeded"}, authorization)
            apps[level] = (app, authorization)
        for target, endpoint in TRACED_ENDPOINTS.items():
            for count in counts:
                for level, (app, authorization) in apps.items():
                    figures += load(
                        app.url,
                        {target: endpoint},
                        traced_backend(level),
                        [count],
                        seconds,
                        authorization,
                        tag=f"traced{level.rstrip('%')}",
                    )
    exported = {
        level: asdict(_Collector.exported.get(f"/{level.rstrip('%')}/v1/traces", Exported()))
        for level in LEVELS
        if level != "off"
    }
    return figures, exported
