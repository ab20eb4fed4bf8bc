"""`make bench` (`python -m tools.bench`): every target in one run, then the report.

For each backend (the app on the in-memory store, on one embedded node, on that node with its
API served by two worker processes (APP_WORKERS=2), on a 3-node cluster)
the app runs in its own processes and wrk, a compiled load generator on one thread, sends
each endpoint's load at each client count: a warm-up that is not counted (none in a smoke run
of loads under 2 s), then a fixed duration. In the same run: the stack's floors (FastAPI bare,
on the raw wire client, on SQLAlchemy Core: tools/bench/floors) under the same loads, the app's
round trips to dqlite per request, the raw wire client and go-dqlite's own benchmark on 1 and 3
nodes, the app's store writing to one database against two at once, what each layer of the
app costs in one process (tools/bench/layers.py), what tracing costs (tools/bench/tracing.py),
and flame graphs of the app (py-spy).
`--scale` runs only the data-at-scale bench instead (tools/bench/scale.py).
"""

import argparse
import sys
import tempfile
from functools import partial
from pathlib import Path

from tools.bench.apps import App, go_dqlite_benchmark, running_apps
from tools.bench.client import post, sign_in
from tools.bench.consistency import measure_consistency
from tools.bench.contexts import measure_contexts
from tools.bench.flames import record_flame
from tools.bench.floor_loads import load_floors
from tools.bench.layers import layer_microseconds
from tools.bench.loads import ACCOUNTS, AUTH_ENDPOINTS, ENDPOINTS, load
from tools.bench.measure import Figure, from_go_results, wrk
from tools.bench.memory import list_milliseconds
from tools.bench.raw import measure_raw_client
from tools.bench.report import partial_report, write_report
from tools.bench.round_trips import measure_round_trips
from tools.bench.scale import ISOLATION_SECONDS, SIZES, SMOKE_SIZE, run_scale
from tools.bench.tracing import measure_tracing

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("memory", "node", "workers", "cluster")
# The loads the workers backend takes: what more processes change is the app's own CPU.
WORKER_ENDPOINTS = ("GET /todos/{key}", "POST /todos")
SEED_TODOS = 200
PROFILE_CLIENTS = 16
PROFILED = {  # backend: the loads profiled on it, each into flame-<backend>-<name>.svg
    "memory": {"get": "GET /todos/{key}"},
    "node": {"get": "GET /todos/{key}", "post": "POST /todos"},
}


def seed(app: App, authorization: str) -> None:
    """What the read and transfer loads need: todos seed-1.., accounts 1..ACCOUNTS."""
    for n in range(1, SEED_TODOS + 1):
        post(f"{app.url}/todos", {"key": f"seed-{n}", "value": "seeded"}, authorization)
    for n in range(ACCOUNTS):
        body = {"holder": f"holder-{n}", "balance_cents": 10**12}
        post(f"{app.url}/accounts", body, authorization)


def load_app(
    app: App, backend: str, clients: list[int], seconds: float, authorization: str
) -> list[Figure]:
    endpoints = {**ENDPOINTS, **(AUTH_ENDPOINTS if backend == "memory" else {})}
    if backend == "workers":
        endpoints = {target: endpoints[target] for target in WORKER_ENDPOINTS}
    return load(app.url, endpoints, backend, clients, seconds, authorization)


def profile_app(
    app: App, backend: str, seconds: float, authorization: str, out: Path
) -> dict[str, str]:
    """Flame graphs of the app under PROFILE_CLIENTS clients: each file's name, or why none."""
    found = {}
    assert app.process is not None, "the app is running"
    for name, target in PROFILED.get(backend, {}).items():
        script, arguments = ENDPOINTS[target]
        under_load = partial(
            wrk,
            app.url,
            script,
            PROFILE_CLIENTS,
            arguments=[f"{backend}-profile-{name}", *arguments],
            authorization=authorization,
        )
        svg = out / "performance" / f"flame-{backend}-{name}.svg"
        key = f"{target} on {backend}, {PROFILE_CLIENTS} clients"
        why_not = record_flame(app.process.pid, svg, seconds, under_load)
        found[key] = why_not or svg.name
        print(f"  flame graph, {key}: {found[key]}", flush=True)
    return found


def run(
    workdir: Path,
    clients: list[int],
    seconds: float,
    backends: list[str],
    settings: dict[str, str],
    profile_into: Path | None = None,
) -> dict[str, object]:
    """Every target of `backends`; with `profile_into`, flame graphs into its performance/."""
    figures: list[Figure] = []
    round_trips: dict[str, float | None] = {}
    profiles: dict[str, str] = {}
    exported: dict[str, dict[str, int]] = {}
    for backend in backends:
        with running_apps(workdir / backend, backend, settings) as apps:
            authorization = sign_in(apps[0])
            seed(apps[0], authorization)
            figures += load_app(apps[0], backend, clients, seconds, authorization)
            if backend == "node":
                node = apps[0].env["APP_NODE_ADDRESS"]
                figures += load_floors(workdir, node, clients, seconds)
                round_trips = measure_round_trips(apps[0].url, authorization, ACCOUNTS)
                figures += measure_raw_client(node, seconds)
                figures += measure_contexts(node, seconds)
                traced, exported = measure_tracing(workdir / "tracing", clients, seconds)
                figures += traced
            if backend in ("node", "cluster"):
                addresses = [app.env["APP_NODE_ADDRESS"] for app in apps]
                figures += measure_consistency(addresses, backend, seconds)
            if profile_into is not None:
                profiles |= profile_app(apps[0], backend, seconds, authorization, profile_into)
    for size, backend in ((1, "node"), (3, "cluster")):
        if backend not in backends:
            continue
        go_dir = workdir / f"go-{backend}"
        go_dir.mkdir()
        results, counted_from = go_dqlite_benchmark(go_dir, size, round(seconds) + 1, 1)
        figures.append(from_go_results(results, backend, counted_from))
    return {
        "seconds": seconds,
        "settings": settings,
        "figures": [figure.as_dict() for figure in figures],
        "round_trips": round_trips,
        "tracing_exported": exported,
        "profiles": profiles,
        "memory_list_10000_ms": list_milliseconds(),
        # a smoke run (loads under 2 s) only shows that each layer answers
        "layers_us": layer_microseconds() if seconds >= 2 else layer_microseconds(100, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, help="measured time per load (8 s; with --scale, 3 s)"
    )
    parser.add_argument("--clients", default="1,16,64", help="client counts, comma-separated")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="a part of the run: e.g. --backends node (the report then needs the whole run)",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="APP_NAME=VALUE",
        help="a setting for every app process, e.g. APP_NETWORK_LATENCY_MS=2 (repeatable)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs", help="where performance.md and its files go"
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        help="flame graphs (py-spy) of the app under load into --out's performance/ "
        "(on unless loads are under 2 s, as in make test's smoke run)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the data-at-scale bench (tools/bench/scale.py): docs/performance/scale.md",
    )
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="with --scale: rows in each table"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="with --scale: one small size, 1 s per load"
    )
    args = parser.parse_args(argv)
    settings = dict(setting.split("=", 1) for setting in args.setting)
    if args.scale:
        return _scale(args, settings)
    seconds = args.seconds or 8.0
    clients = [int(count) for count in args.clients.split(",")]
    backends = args.backends.split(",")
    if unknown := set(backends) - set(BACKENDS):
        parser.error(f"unknown backends {sorted(unknown)}: choose among {', '.join(BACKENDS)}")
    profile = args.profile if args.profile is not None else seconds >= 2
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        results = run(
            Path(workdir), clients, seconds, backends, settings, args.out if profile else None
        )
    if backends == list(BACKENDS):
        write_report(results, args.out)
    else:  # the targets compare backends: only a whole run writes the report
        print("\n" + partial_report(results))
    return 0


def _scale(args: argparse.Namespace, settings: dict[str, str]) -> int:
    sizes = [SMOKE_SIZE] if args.smoke else [int(rows) for rows in args.sizes.split(",")]
    seconds = args.seconds or (1.0 if args.smoke else 3.0)
    isolation_seconds = 1.0 if args.smoke else ISOLATION_SECONDS
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
        run_scale(Path(workdir), sorted(sizes), seconds, isolation_seconds, args.out, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
