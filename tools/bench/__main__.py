"""`make bench` (`python -m tools.bench`): every target in one run, then the report.

For each backend (the app on the in-memory store, on one embedded node, on a 3-node cluster)
the app runs in its own processes and wrk, a compiled load generator on one thread, sends
each endpoint's load at each client count: a warm-up that is not counted (none in a smoke run
of loads under 2 s), then a fixed duration. In the same run: the raw wire client and
go-dqlite's own benchmark on 1 and 3 nodes, and the app's store writing to one database
against two at once. `--scale` runs only the data-at-scale bench instead (tools/bench/scale.py).
"""

import argparse
import sys
import tempfile
from pathlib import Path

from tools.bench.apps import App, go_dqlite_benchmark, running_apps
from tools.bench.client import post, sign_in
from tools.bench.contexts import measure_contexts
from tools.bench.measure import Figure, from_go_results, from_wrk, wrk
from tools.bench.memory import list_milliseconds
from tools.bench.raw import measure_raw_client
from tools.bench.report import table, write_report
from tools.bench.scale import ISOLATION_SECONDS, SIZES, SMOKE_SIZE, run_scale

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("memory", "node", "cluster")
SEED_TODOS = 200
ACCOUNTS = 10
ENDPOINTS = {  # target: (wrk script, the arguments it takes after the run's tag)
    "POST /todos": ("post_todos.lua", []),
    "GET /todos/{key}": ("get_todo.lua", ["seed-1"]),
    "GET /todos?key_contains": ("list_todos.lua", []),
    "POST /transfers": ("post_transfers.lua", [str(ACCOUNTS)]),
}
# What verifying a bearer token costs: two routes that touch no store, one open and one that
# verifies the token (EdDSA) and builds the principal. The store does not change it, so these
# run on the in-memory backend only.
AUTH_ENDPOINTS = {
    "GET /health (open)": ("get_path.lua", ["/health", "open"]),
    "GET /auth/me (token verified)": ("get_path.lua", ["/auth/me"]),
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
    figures = []
    endpoints = {**ENDPOINTS, **(AUTH_ENDPOINTS if backend == "memory" else {})}
    for target, (script, arguments) in endpoints.items():
        for count in clients:
            tag = f"{backend}{count}"
            if seconds >= 2:  # a smoke run (make test's) measures without warming up
                warm_up = max(1.0, seconds / 5)
                wrk(app.url, script, count, warm_up, [f"{tag}w", *arguments], authorization)
            summary = wrk(app.url, script, count, seconds, [tag, *arguments], authorization)
            figures.append(from_wrk(target, backend, count, summary))
            print(
                f"  {target:<26} {backend:<8} {count:>3} clients: "
                f"{figures[-1].throughput:8.0f}/s p99 {figures[-1].p99_ms:7.1f} ms "
                f"errors {figures[-1].errors}",
                flush=True,
            )
    return figures


def run(
    workdir: Path,
    clients: list[int],
    seconds: float,
    backends: list[str],
    settings: dict[str, str],
) -> dict[str, object]:
    figures: list[Figure] = []
    for backend in backends:
        with running_apps(workdir / backend, backend, settings) as apps:
            authorization = sign_in(apps[0])
            seed(apps[0], authorization)
            figures += load_app(apps[0], backend, clients, seconds, authorization)
            if backend == "node":
                figures += measure_raw_client(apps[0].env["APP_NODE_ADDRESS"], seconds)
                figures += measure_contexts(apps[0].env["APP_NODE_ADDRESS"], seconds)
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
        "memory_list_10000_ms": list_milliseconds(),
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
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        results = run(Path(workdir), clients, seconds, backends, settings)
    if backends == list(BACKENDS):
        write_report(results, args.out)
    else:  # the targets compare backends: only a whole run writes the report
        print("\n" + table(results))
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
