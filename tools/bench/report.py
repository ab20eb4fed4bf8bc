"""The bench's outputs: a table on stdout, results.json, chart.png and performance.md."""

import datetime
import json
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen: render to files only
import matplotlib.pyplot as plt

from tools.bench.apps import WORKERS
from tools.bench.consistency import READERS, WRITERS, WRITES_ALONE, WRITES_BESIDE, read_target
from tools.bench.contexts import CLIENTS as CONTEXT_WRITERS
from tools.bench.floor_loads import floor_target
from tools.bench.floor_report import floors_section
from tools.bench.loads import LINEARIZABLE_GET
from tools.bench.tracing import CLIENTS as TRACING_CLIENTS
from tools.bench.tracing import LEVELS, TRACED_ENDPOINTS, traced_backend

Figures = list[dict[str, Any]]


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    goal: str
    met: bool


def pick(figures: Figures, target: str, backend: str, clients: int = 1) -> dict[str, Any]:
    for figure in figures:
        if (figure["target"], figure["backend"], figure["clients"]) == (target, backend, clients):
            return figure
    raise KeyError(f"no figure for {target} on {backend} with {clients} clients")


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets, as ratios of figures measured in this one run."""
    f: Figures = results["figures"]
    loads = {x["clients"] for x in f if x["target"].startswith(("POST", "GET"))}  # wrk's
    most, mid = max(loads), sorted(loads)[len(loads) // 2]

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
        return float(a["throughput"]) / float(b["throughput"]) if b["throughput"] else 0.0

    post, get = pick(f, "POST /todos", "node"), pick(f, "GET /todos/{key}", "node")
    found = [
        Target(
            "POST /todos 1 client / raw INSERT transactions",
            ratio(post, pick(f, "raw INSERT transaction", "node")),
            ">= 0.60",
            False,
        ),
        Target(
            "GET /todos/{key} 1 client / raw point SELECTs",
            ratio(get, pick(f, "raw point SELECT", "node")),
            ">= 0.40",
            False,
        ),
        Target(
            "GET /todos/{key} 1 client / SQLAlchemy Core floor",
            ratio(get, pick(f, floor_target("core", "GET /todos/{key}"), "node")),
            ">= 0.85",
            False,
        ),
        Target(
            "POST /todos 1 client / SQLAlchemy Core floor",
            ratio(post, pick(f, floor_target("core", "POST /todos"), "node")),
            ">= 0.85",
            False,
        ),
        Target(
            "GET /todos/{key} on memory 1 client / bare FastAPI",
            ratio(
                pick(f, "GET /todos/{key}", "memory"),
                pick(f, floor_target("bare", "GET /todos/{key}"), "node"),
            ),
            ">= 0.50",
            False,
        ),
        Target(
            f"POST /todos {mid} clients / go-dqlite 1 node",
            ratio(pick(f, "POST /todos", "node", mid), pick(f, "go-dqlite kvwrite", "node")),
            ">= 1.00 (stretch)",
            False,
        ),
        Target(
            "POST /todos on 3 nodes 1 client / go-dqlite 3 nodes",
            ratio(pick(f, "POST /todos", "cluster"), pick(f, "go-dqlite kvwrite", "cluster")),
            ">= 0.60",
            False,
        ),
        Target(
            "in-memory list of 10,000 rows with a filter (ms)",
            results["memory_list_10000_ms"],
            "<= 20",
            False,
        ),
    ]
    found.append(
        Target(
            "store writes: two contexts at once / one context",
            ratio(
                pick(f, "store writes, two contexts at once", "node", CONTEXT_WRITERS),
                pick(f, "store writes, one context", "node", CONTEXT_WRITERS),
            ),
            ">= 1.00",
            False,
        )
    )
    for endpoint, goal in (("GET /todos/{key}", ">= 1.40"), ("POST /todos", ">= 1.15")):
        two = pick(f, endpoint, "workers", most)
        name = f"{endpoint} {most} clients, {WORKERS} workers / 1 worker"
        found.append(Target(name, ratio(two, pick(f, endpoint, "node", most)), goal, False))
    writes = pick(f, "POST /todos", "workers", most)
    found += [
        Target(
            f"POST /todos {most} clients, {WORKERS} workers: errors", writes["errors"], "0", False
        ),
        Target(
            f"POST /todos {most} clients, {WORKERS} workers: p99 (ms)",
            writes["p99_ms"],
            "<= 1000",
            False,
        ),
    ]
    for endpoint in ("POST /todos", "POST /transfers"):
        many, one = pick(f, endpoint, "node", most), pick(f, endpoint, "node")
        found += [
            Target(f"{endpoint} {most} clients: errors", many["errors"], "0", False),
            Target(f"{endpoint} {most} clients / 1 client", ratio(many, one), ">= 1.00", False),
            Target(f"{endpoint} {most} clients: p99 (ms)", many["p99_ms"], "<= 500", False),
        ]
    return [_judged(target) for target in found]


def _judged(target: Target) -> Target:
    operator, _, bound = target.goal.partition(" ")
    if not bound:
        met = target.measured == float(operator)
    else:
        limit = float(bound.split()[0])
        met = target.measured >= limit if operator == ">=" else target.measured <= limit
    return Target(target.name, target.measured, target.goal, met)


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    libdqlite = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libdqlite0"], capture_output=True, text=True
    ).stdout
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} x {cpu}",
        "python": platform.python_version(),
        "libdqlite": libdqlite or "unknown",
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| target | backend | clients | per s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for f in results["figures"]:
        rows.append(
            f"| {f['target']} | {f['backend']} | {f['clients']} | {f['throughput']:,.0f} | "
            f"{f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['errors']} |"
        )
    return "\n".join(rows)


def partial_report(results: dict[str, Any]) -> str:
    """What a run of some backends prints: its figures and, as far as they go, the floors."""
    return f"{table(results)}\n\n## Floors\n\n{floors_section(results)}"


def target_table(found: list[Target]) -> str:
    rows = ["| target | measured | goal | met |", "|---|---:|---|---|"]
    rows += [
        f"| {t.name} | {t.measured:,.2f} | {t.goal} | {'yes' if t.met else 'no'} |" for t in found
    ]
    return "\n".join(rows)


def chart(results: dict[str, Any], path: Path) -> None:
    figures: Figures = [f for f in results["figures"] if f["target"].startswith(("POST", "GET"))]
    endpoints = list(dict.fromkeys(f["target"] for f in figures))
    fig, axes = plt.subplots(2, len(endpoints), figsize=(4 * len(endpoints), 7), squeeze=False)
    for column, endpoint in enumerate(endpoints):
        for backend in ("memory", "node", "workers", "cluster"):
            points = sorted(
                (f["clients"], f["throughput"], f["p99_ms"])
                for f in figures
                if f["target"] == endpoint and f["backend"] == backend
            )
            if not points:
                continue
            clients, throughput, p99 = zip(*points, strict=True)
            axes[0][column].plot(clients, throughput, marker="o", label=backend)
            axes[1][column].plot(clients, p99, marker="o", label=backend)
        axes[0][column].set_title(endpoint)
        axes[0][column].set_ylabel("requests/s")
        axes[1][column].set_ylabel("p99 latency (ms)")
        for row in (0, 1):
            axes[row][column].set_xscale("log", base=2)
            axes[row][column].set_xlabel("clients")
            axes[row][column].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(results: dict[str, Any], out: Path) -> None:
    found = targets(results)
    # A run re-rendered from its results.json keeps the machine and date it was measured on.
    measured_on = results.get("machine") or machine()
    results = {**results, "machine": measured_on, "targets": [t.__dict__ for t in found]}
    files = out / "performance"
    files.mkdir(parents=True, exist_ok=True)
    (files / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, files / "chart.png")
    print(f"\n{partial_report(results)}\n\n{target_table(found)}")
    history = files / "history.md"  # written by hand, kept across runs
    notes = history.read_text() if history.exists() else ""
    (out / "performance.md").write_text(_markdown(results, found, notes))


def token_cost(results: dict[str, Any]) -> str:
    """GET /auth/me (the token verified, the principal built) against GET /health (open),
    both answered without the store, at each client count."""
    f: Figures = results["figures"]
    rows = [
        "| clients | open GET per s | verified GET per s | ratio | ms per request added |",
        "|---:|---:|---:|---:|---:|",
    ]
    for figure in f:
        if figure["target"] != "GET /health (open)":
            continue
        clients = figure["clients"]
        verified = pick(f, "GET /auth/me (token verified)", "memory", clients)
        added = 1000 / verified["throughput"] - 1000 / figure["throughput"]
        rows.append(
            f"| {clients} | {figure['throughput']:,.0f} | {verified['throughput']:,.0f} | "
            f"{verified['throughput'] / figure['throughput']:.2f} | {added:.3f} |"
        )
    return "\n".join(rows)


def consistency_section(results: dict[str, Any]) -> str:
    """Reads at each level, and writers beside linearizable readers, from the same run."""
    f: Figures = results["figures"]
    rows = [
        "| backend | readers | leader reads per s | linearizable per s | ratio | "
        "p99 ms leader / linearizable |",
        "|---|---:|---:|---:|---:|---|",
    ]
    writes = ["| backend | writes per s alone | beside linearizable readers | ratio |"]
    writes.append("|---|---:|---:|---:|")
    measured = {(x["target"], x["backend"], x["clients"]): x for x in f}
    for backend in ("node", "cluster"):
        for readers in READERS:
            leader = measured.get((read_target("leader"), backend, readers))
            linear = measured.get((read_target("linearizable"), backend, readers))
            if leader is None or linear is None:
                continue  # a run without this backend
            rows.append(
                f"| {backend} | {readers} | {leader['throughput']:,.0f} | "
                f"{linear['throughput']:,.0f} | {linear['throughput'] / leader['throughput']:.2f}"
                f" | {leader['p99_ms']:.1f} / {linear['p99_ms']:.1f} |"
            )
        alone = measured.get((WRITES_ALONE, backend, WRITERS))
        beside = measured.get((WRITES_BESIDE, backend, WRITERS))
        if alone is not None and beside is not None:
            writes.append(
                f"| {backend} | {alone['throughput']:,.0f} | {beside['throughput']:,.0f} | "
                f"{beside['throughput'] / alone['throughput']:.2f} |"
            )
    http = ["| backend | clients | GET /todos/{key} per s | GET /accounts/{id} per s | ratio |"]
    http.append("|---|---|---:|---:|---:|")
    for backend in ("node", "cluster"):
        for figure in f:
            if (figure["target"], figure["backend"]) != (LINEARIZABLE_GET, backend):
                continue
            leader = measured.get(("GET /todos/{key}", backend, figure["clients"]))
            if leader is not None:
                http.append(
                    f"| {backend} | {figure['clients']} | {leader['throughput']:,.0f} | "
                    f"{figure['throughput']:,.0f} | "
                    f"{figure['throughput'] / leader['throughput']:.2f} |"
                )
    return "\n\n".join("\n".join(table) for table in (rows, writes, http))


def tracing_section(results: dict[str, Any]) -> str:
    """Each load with tracing off, sampling every trace, and 1 in 100, from the same run."""
    measured = {(x["target"], x["backend"], x["clients"]): x for x in results["figures"]}
    rows = [
        "| endpoint | clients | off per s | 100% per s | ratio | 1% per s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for target in TRACED_ENDPOINTS:
        for clients in TRACING_CLIENTS:
            at = {level: measured.get((target, traced_backend(level), clients)) for level in LEVELS}
            off, every, some = at["off"], at["100%"], at["1%"]
            if off is None or every is None or some is None:
                continue
            rows.append(
                f"| {target} | {clients} | {off['throughput']:,.0f} | "
                f"{every['throughput']:,.0f} | {every['throughput'] / off['throughput']:.2f} | "
                f"{some['throughput']:,.0f} | {some['throughput'] / off['throughput']:.2f} |"
            )
    sent = [
        f"at {level}, {e['batches']} batches of {e['bytes'] / 1e6:.1f} MB in all (the first "
        f"held {e['spans_in_first_batch']} spans)"
        for level, e in results.get("tracing_exported", {}).items()
    ]
    received = "; ".join(sent) or "nothing recorded"
    return "\n".join(rows) + f"\n\nThe collector received, while the loads ran: {received}."


def layers_section(results: dict[str, Any]) -> str:
    """Microseconds per GET of each layer, called in one process with no network."""
    rows = ["| what answers the GET | µs per request | added |", "|---|---:|---:|"]
    before = None
    for name, microseconds in results["layers_us"].items():
        added = "" if before is None else f"{microseconds - before:+.0f}"
        rows.append(f"| {name} | {microseconds:.0f} | {added} |")
        before = microseconds
    return "\n".join(rows)


def _markdown(results: dict[str, Any], found: list[Target], history: str) -> str:
    m = results["machine"]
    return f"""# Performance

Written by `make bench` ({m["date"]}); every figure below comes from that one run. Run it
again to measure your machine: `make bench` (about five minutes), or
`make bench ARGS="--seconds 3 --clients 1,64"` for a shorter look.

Machine: {m["cpu"]}, Python {m["python"]}, libdqlite {m["libdqlite"]}.

## How it measures

- The app runs in its own processes (`python -m entrypoints`): on the in-memory store
  (`memory`), on one embedded dqlite node (`node`), on that node with its API served by
  {WORKERS} worker processes (`workers`, `APP_WORKERS={WORKERS}`: GET /todos/{{key}} and POST
  /todos only), on a 3-node cluster on this machine (`cluster`, load sent to node 1).
- The load generator is wrk (compiled, one thread, keep-alive connections) with the Lua
  scripts in `tools/bench/lua`: each POST has a key of its own. Each load runs a warm-up that is
  not counted, then {results["seconds"]:.0f} s.
- In the same run: the raw Python wire client (`dqliteclient`) on one connection, doing
  `BEGIN IMMEDIATE` / `INSERT` / `COMMIT` and point `SELECT`s; go-dqlite's `dqlite-benchmark`
  (kvwrite, 1 worker) on 1 and on 3 nodes.
- Also in the same run: the stack's floors, each a small FastAPI app of the bench's
  (`tools/bench/floors`) with the app's todo models on `GET /todos/{{key}}` and `POST /todos`,
  no middleware and no token, in a process of its own served by uvicorn as the app is: bare
  (a dict), on the raw wire client (one connection), and on SQLAlchemy Core (`dqlite+aio`,
  the app's engine), the last two on the node the `node` app embeds. They take the same wrk
  loads as the app (below: Floors).
- Also in the same run: the app's store (each context's writers' queue and group commit)
  creating todos from two processes of 16 writers each, first both in the todos context (one
  database), then one in the todos context and one in a second context holding the same
  aggregate, each context on its own database of the same node (`tools/bench/contexts.py`).
  dqlite has one writer per database, so contexts do not wait on each other's writes.
- Raw figures are in `performance/results.json`; the chart is `performance/chart.png`.

## Targets

{target_table(found)}

## Every figure

{table(results)}

In-memory list of 10,000 todos with a filter: {results["memory_list_10000_ms"]:.1f} ms.

## Floors

{floors_section(results)}

## Where a request's time goes

Each ASGI app called directly in the bench's process, with no network (wrk's figures add
uvicorn and the kernel's loopback to each, about the same for every app), on the in-memory
store (tools/bench/layers.py):

{layers_section(results)}

## Reads that cannot be stale

An account read by its id through the app's store (tools/bench/consistency.py), at each
consistency level: a linearizable read first commits a read barrier (README: "Reads that cannot
be stale"). Then {WRITERS} writers alone, and the same writers beside {WRITERS} linearizable
readers, whose barriers queue with the writes. Last, over HTTP: `GET /accounts/{{id}}`, a
linearizable point read, beside `GET /todos/{{key}}`, a point read at the leader level (two
endpoints, the same shape of read: a row by its key, its owner checked):

{consistency_section(results)}

## What tracing costs

Three apps on nodes of their own (tools/bench/tracing.py): tracing off (the default), on
and sampling every trace, on and sampling 1 in 100
(`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.01`), the last two
exporting in batches over OTLP/HTTP to a collector of the bench's that drops what it gets. The
loads run in turn, off, 100%, 1%, for each endpoint and client count:

{tracing_section(results)}

## What a bearer token costs

{token_cost(results)}

![throughput and p99 by clients](performance/chart.png)

## Data at scale

`make bench ARGS="--scale"` fills every example table to 10^4, 10^5 and 10^6 rows on one node
and times, at each size, a row by key, the first page and a page 90% deep of each list filter,
a write, readiness, a restart, a backup and a restore, and a new node's catch-up, with the
node's memory and data dir; at the largest size, point reads while 16 clients repeat the
costliest list request. Its figures: [performance/scale.md](performance/scale.md).

{history}"""
