"""The report's parts on the stack's floors: their figures beside the app's, the ratios at each
client count, the app's round trips to dqlite per request and its flame graphs."""

from typing import Any

from tools.bench.floor_loads import FLOOR_ENDPOINTS, floor_target

Figures = list[dict[str, Any]]
GET, POST = "GET /todos/{key}", "POST /todos"
SERVERS = {  # column: (the floor, or None for the app; backend)
    "bare FastAPI": ("bare", "node"),
    "raw client": ("raw", "node"),
    "SQLAlchemy Core": ("core", "node"),
    "app, memory": (None, "memory"),
    "app, node": (None, "node"),
}
RATIOS = [  # (numerator, denominator, goals at 1 client by endpoint)
    ("app, node", "SQLAlchemy Core", {GET: ">= 0.85", POST: ">= 0.85"}),
    ("app, memory", "bare FastAPI", {GET: ">= 0.50"}),
    ("app, node", "raw client", {}),
    ("SQLAlchemy Core", "raw client", {}),
    ("raw client", "bare FastAPI", {}),
]
ROUND_TRIP_GOALS = {GET: "1", POST: "<= 3 (alone, outside group commit)", "POST /transfers": ""}


def _figure(figures: Figures, server: str, endpoint: str, clients: int) -> dict[str, Any] | None:
    floor, backend = SERVERS[server]
    wanted = (floor_target(floor, endpoint) if floor else endpoint, backend, clients)
    return next((f for f in figures if (f["target"], f["backend"], f["clients"]) == wanted), None)


def _clients(figures: Figures) -> list[int]:
    return sorted({f["clients"] for f in figures if f["target"] == floor_target("bare", GET)})


def floors_table(results: dict[str, Any]) -> str:
    """Requests per s (p99 ms) of each endpoint on each floor and on the app."""
    f: Figures = results["figures"]
    rows = [
        f"| endpoint | clients | {' | '.join(SERVERS)} |",
        "|---|---:|" + "---:|" * len(SERVERS),
    ]
    for endpoint in FLOOR_ENDPOINTS:
        for clients in _clients(f):
            cells = []
            for server in SERVERS:
                found = _figure(f, server, endpoint, clients)
                shown = f"{found['throughput']:,.0f} ({found['p99_ms']:.1f})" if found else "-"
                cells.append(shown)
            rows.append(f"| {endpoint} | {clients} | {' | '.join(cells)} |")
    return "\n".join(rows)


def ratio(figures: Figures, over: tuple[str, str], endpoint: str, clients: int) -> str:
    numerator, denominator = (_figure(figures, server, endpoint, clients) for server in over)
    if numerator is None or denominator is None or not denominator["throughput"]:
        return "-"
    return f"{numerator['throughput'] / denominator['throughput']:.2f}"


def ratios_table(results: dict[str, Any]) -> str:
    """Each ratio of requests per s, at each client count of the run."""
    f: Figures = results["figures"]
    counts = _clients(f)
    columns = " | ".join(f"{n} client{'s' if n > 1 else ''}" for n in counts)
    rows = [
        f"| ratio | endpoint | goal, 1 client | {columns} |",
        "|---|---|---|" + "---:|" * len(counts),
    ]
    for numerator, denominator, goals in RATIOS:
        for endpoint in FLOOR_ENDPOINTS:
            cells = " | ".join(ratio(f, (numerator, denominator), endpoint, n) for n in counts)
            name = f"{numerator} / {denominator}"
            rows.append(f"| {name} | {endpoint} | {goals.get(endpoint, '')} | {cells} |")
    return "\n".join(rows)


def round_trips_table(results: dict[str, Any]) -> str:
    found: dict[str, float | None] = results.get("round_trips") or {}
    if not found:
        return "Not measured in this run (the node backend did not run)."
    rows = ["| request | round trips | goal |", "|---|---:|---|"]
    for target, count in found.items():
        shown = "not exported" if count is None else f"{count:.2f}"
        rows.append(f"| {target} | {shown} | {ROUND_TRIP_GOALS.get(target, '')} |")
    if None in found.values():
        rows.append(
            "\nThe app exported no `dqlite_round_trips_total` on /metrics: nothing to count."
        )
    return "\n".join(rows)


def flames_list(results: dict[str, Any], folder: str = "performance") -> str:
    profiles: dict[str, str] = results.get("profiles") or {}
    if not profiles:
        return "None recorded in this run (`--profile` is on when loads last 2 s or more)."
    return "\n".join(
        f"- {load}: [{note}]({folder}/{note})" if note.endswith(".svg") else f"- {load}: {note}"
        for load, note in profiles.items()
    )


def floors_section(results: dict[str, Any]) -> str:
    """What the markdown report and a partial run print about the floors."""
    return f"""Requests per s (p99 ms in brackets), each floor in a process of its own beside the
app on one node, reading and writing the same node, under the same wrk scripts:

{floors_table(results)}

{ratios_table(results)}

Round trips to dqlite per request, from the app's `dqlite_round_trips_total`: the least of 3
readings of 50 sequential requests (after 5 not counted), less the least of 3 waits as long with
no request (the outbox relays make round trips of their own, in bursts):

{round_trips_table(results)}

Flame graphs (py-spy, the app's process under 16 clients):

{flames_list(results)}"""
