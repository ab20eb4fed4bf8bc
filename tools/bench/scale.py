"""`make bench ARGS="--scale"`: what requests and operations cost as the tables grow.

The app runs on one embedded node. Every example table (todos, users, posts, accounts,
transfers) is filled in bulk (tools/bench/fill.py) to each size in turn, 10^4, 10^5 and 10^6
rows. At each size a new node joins right after the fill (tools/bench/joining.py); wrk times,
one client at a time, a row by key or id, the first page and a page 90% deep of each list
filter, a write, and readiness; the bench reads the node's memory and data dir, times a
restart, a backup and its restore into a new node (tools/bench/backups.py), and a new node's
join once a snapshot holds the data. At the largest size, point reads by key are timed alone
and while 16 clients repeat the costliest list request (tools/bench/isolation.py). The
figures go to docs/performance/scale.json, scale.md and scale.png, written after each size.
"""

import time
from pathlib import Path
from typing import Any

from entrypoints.settings import Settings
from tools.bench.apps import App, running_apps
from tools.bench.backups import backup_and_restore
from tools.bench.client import BENCH_EMAIL, BENCH_PASSWORD, SignedIn, get, post
from tools.bench.fill import GROUPS, fill, todo_key
from tools.bench.isolation import measure_isolation
from tools.bench.joining import join, snapshot
from tools.bench.operations import data_dir, finish, restart, rss_mb, size_mb, start_cli
from tools.bench.queries import (
    DEEP,
    FIRST,
    LISTINGS,
    READY,
    WRITE,
    deep_page,
    point_paths,
    timed,
    timed_writes,
    with_query,
)
from tools.bench.report import machine
from tools.bench.scale_report import write_scale_report

SIZES = (10**4, 10**5, 10**6)
# Signing in is not what this bench measures: the cheapest Argon2id the settings allow.
CHEAP_HASHING = {
    "APP_PASSWORD_HASH_TIME_COST": "1",
    "APP_PASSWORD_HASH_MEMORY_KIB": "1024",
    "APP_PASSWORD_HASH_PARALLELISM": "1",
}
SMOKE_SIZE = 1_000
ISOLATION_SECONDS = 5.0
ADMIN_EMAIL = "bench-admin@example.org"
SNAPSHOT_THRESHOLD = Settings.model_fields["snapshot_threshold"].default


def _people(app: App) -> tuple[SignedIn, SignedIn]:
    """The bench's person, who owns every row, and an admin, who reads everyone's (signed in
    once the CLI, started now, granted the role)."""
    for email in (BENCH_EMAIL, ADMIN_EMAIL):
        post(f"{app.url}/auth/register", {"email": email, "password": BENCH_PASSWORD})
    granting = start_cli(app, "grant-role", ADMIN_EMAIL, "admin")
    return SignedIn(app.url, BENCH_EMAIL), SignedIn(app.url, ADMIN_EMAIL, lambda: finish(granting))


def _check_fill(url: str, authorization: str, subject: str, rows: int) -> None:
    """The last row of each table, as the API reads it back, is the row the fill meant."""
    i, group = rows, f"g{rows % GROUPS:02d}"
    expected: dict[str, dict[str, object]] = {
        f"/todos/{todo_key(i)}": {
            "owner": subject,
            "value": f"value {i} {group}",
            "done": i % 2 == 1,
        },
        f"/users/{i}": {
            "owner": subject,
            "email": f"User{i}.{group.upper()}@Example.org",
            "is_active": i % 2 == 1,
        },
        f"/posts/{i}": {
            "author_id": 1 if i % 2 else 1 + (i // 2) % rows,
            "published": i // 2 % 2 == 1,
        },
        f"/accounts/{i}": {"owner": subject, "balance_cents": 10**9},
    }
    for path, fields in expected.items():
        found = get(url + path, authorization)
        if wrong := {k: found.get(k) for k, v in fields.items() if found.get(k) != v}:
            raise RuntimeError(f"GET {path} read back {wrong}, not {fields}")
    if not get(f"{url}/transfers?account=1&limit=1", authorization)["items"]:
        raise RuntimeError("account 1 has no transfers after the fill")


def _report(name: str, figure: dict[str, Any]) -> None:
    print(
        f"  {name:<52} p50 {figure['p50_ms']:8.2f} ms  p99 {figure['p99_ms']:8.2f} ms  "
        f"errors {figure['errors']}",
        flush=True,
    )


def _queries(
    app: App, owner: SignedIn, admin: SignedIn, rows: int, seconds: float
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every request's figures, by name; and those skipped, with why."""
    figures: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    tag = f"scale{rows}"

    def measure(name: str, path: str, authorization: str, **notes: object) -> None:
        figures[name] = {**timed(app.url, name, path, seconds, authorization, tag), **notes}
        _report(name, figures[name])

    for name, path in point_paths(rows).items():
        measure(name, path, owner.authorization)
    for listing in LISTINGS:
        asker = admin if listing.admin else owner
        first, deep = f"{listing.name} ({FIRST})", f"{listing.name} ({DEEP})"
        measure(first, listing.path, asker.authorization, list=listing.path, admin=listing.admin)
        matches, before, cursor = deep_page(app.url, listing.path, asker.authorization)
        if matches == 0:
            skipped[deep] = "no item matches"
            print(f"  {deep}: skipped, no item matches", flush=True)
            continue
        path = with_query(listing.path, after=cursor)
        notes = {"list": path, "admin": listing.admin, "matches": matches, "before": before}
        measure(deep, path, asker.authorization, **notes)
    measure(READY, "/ready", "")
    figures[WRITE] = timed_writes(app.url, seconds, owner.authorization, tag)
    _report(WRITE, figures[WRITE])
    return figures, skipped


def _costliest_list(figures: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The list request with the highest median, and its figures (its path is `list`)."""
    lists = [name for name, figure in figures.items() if "list" in figure]
    name = max(lists, key=lambda name: figures[name]["p50_ms"])
    return name, figures[name]


def _joined(app: App, workdir: Path, rows: int, case: str) -> dict[str, float]:
    figures = {f"join_{case}_{key}": value for key, value in join(app, workdir, rows).items()}
    _print(figures)
    return figures


def _operations(app: App, workdir: Path, rows: int) -> tuple[dict[str, float], dict[str, str]]:
    """A restart, a backup and its restore, a new node's catch-up once a snapshot holds
    everything; and what was skipped."""
    restarted = restart(app)
    backed_up, skipped = backup_and_restore(app, workdir / f"backup{rows}", rows)
    _print({**restarted, **backed_up})
    snapshot(app, int(app.env.get("APP_SNAPSHOT_THRESHOLD", SNAPSHOT_THRESHOLD)))
    joined = _joined(app, workdir / f"join{rows}", rows, "snapshot")
    return {**restarted, **backed_up, **joined}, skipped


def _print(figures: dict[str, float]) -> None:
    print("  " + ", ".join(f"{key} {value:,.2f}" for key, value in figures.items()), flush=True)


def _step(label: str, since: float) -> float:
    now = time.perf_counter()
    print(f"  ({label}: {now - since:.1f} s)", flush=True)
    return now


def run_scale(
    workdir: Path,
    sizes: list[int],
    seconds: float,
    isolation_seconds: float,
    out: Path,
    settings: dict[str, str],
) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "seconds": seconds, "sizes": []}
    with running_apps(workdir, "node", {**CHEAP_HASHING, **settings}) as (app,):
        owner, admin = _people(app)
        subject = str(get(f"{app.url}/auth/me", owner.authorization)["subject"])
        address, prefix = app.env["APP_NODE_ADDRESS"], app.env["APP_DATABASE_PREFIX"]
        have = 0
        for rows in sizes:
            print(f"{rows:,} rows in each table", flush=True)
            clock = time.perf_counter()
            size: dict[str, Any] = {"rows": rows}
            size["fill_s"] = fill(address, prefix, subject, have, rows)
            have = rows
            _check_fill(app.url, owner.authorization, subject, rows)
            clock = _step("filled and checked", clock)
            after_fill = _joined(app, workdir / f"join-after-fill{rows}", rows, "log")
            clock = _step("a new node joined", clock)
            size["queries"], size["skipped"] = _queries(app, owner, admin, rows, seconds)
            size["node"] = {"rss_mb": rss_mb(app), "data_dir_mb": size_mb(data_dir(app))}
            clock = _step("requests", clock)
            if rows == sizes[-1]:
                name, costliest = _costliest_list(size["queries"])
                asker = admin if costliest["admin"] else owner
                load = (name, costliest["list"], asker.authorization)
                results["isolation"] = measure_isolation(
                    app, (subject, owner.authorization), rows, load, isolation_seconds
                )
                clock = _step("isolation", clock)
            size["operations"], skipped = _operations(app, workdir, rows)
            size["operations"] |= after_fill
            size["skipped"] |= skipped
            _step("operations", clock)
            results["sizes"].append(size)
            write_scale_report(results, out)
    return results
