"""The data-at-scale bench's outputs: scale.json, scale.md (a table per size) and scale.png."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen: render to files only
import matplotlib.pyplot as plt

from tools.bench.backups import RESTORE_CAP_SECONDS
from tools.bench.fill import BATCH, GROUP, GROUPS
from tools.bench.isolation import CLIENTS, INTERVAL_MS
from tools.bench.joining import JOIN_TIMEOUT_SECONDS
from tools.bench.queries import DEEP, FIRST, WALK_LIMIT

OPERATIONS = {  # key: (label, unit)
    "fill_s": ("bulk fill up to this size", "s"),
    "rss_mb": ("app process RSS (embeds the node)", "MB"),
    "data_dir_mb": ("node's data dir", "MB"),
    "stop_s": ("stop (SIGTERM)", "s"),
    "restart_s": ("restart: start until /ready is 200", "s"),
    "backup_s": ("`cli backup`", "s"),
    "backup_mb": ("backup folder", "MB"),
    "backup_rows": ("rows in the backup, every table", "rows"),
    "restore_s": ("`cli restore` into a new node", "s"),
    "restore_stopped_s": ("`cli restore` into a new node: stopped unfinished after", "s"),
    "restore_rows": ("rows restored", "rows"),
    "restore_rows_per_s": ("restore pace", "rows/s"),
}
JOINS = {"log": "the fill still in the leader's log", "snapshot": "once a snapshot held it"}
JOIN_FIGURES = {
    "voter_s": ("start until it votes", "s"),
    "catch_up_s": ("added until it votes (the catch-up)", "s"),
    "data_dir_mb": ("its data dir then", "MB"),
    "ready_s": ("start until its /ready is 200", "s"),
}
OPERATIONS |= {
    f"join_{case}_{key}": (f"new node, {when}: {what}", unit)
    for case, when in JOINS.items()
    for key, (what, unit) in JOIN_FIGURES.items()
}


def _operations(size: dict[str, Any]) -> dict[str, float]:
    return {"fill_s": size["fill_s"], **size["node"], **size["operations"]}


def _restore_s(size: dict[str, Any]) -> float | None:
    """How long the restore took, or would have at its pace where it was stopped; None if
    there was no backup to restore."""
    done = size["operations"]
    if "restore_rows_per_s" not in done:
        return None
    return float(done.get("restore_s") or done["backup_rows"] / done["restore_rows_per_s"])


def _size_tables(size: dict[str, Any]) -> str:
    rows = [
        f"### {size['rows']:,} rows in each table",
        "",
        "| request | p50 ms | p99 ms | per s | errors | page |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, f in size["queries"].items():
        page = f"starts after item {f['before']:,} of {f['matches']:,}" if "matches" in f else ""
        rows.append(
            f"| {name} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | {f['throughput']:,.0f} | "
            f"{f['errors']} | {page} |"
        )
    rows += ["", "| node and operations | measured |", "|---|---:|"]
    measured = _operations(size)
    for key, (label, unit) in OPERATIONS.items():
        if key in measured:
            digits = 0 if unit.startswith("rows") else 1
            rows.append(f"| {label} | {measured[key]:,.{digits}f} {unit} |")
    if "restore_stopped_s" in size["operations"]:
        rows.append(
            f"| `cli restore`, the whole at that pace (estimate) | {_restore_s(size):,.0f} s |"
        )
    rows += [f"| skipped: {name} | {why} |" for name, why in size["skipped"].items()]
    return "\n".join(rows)


def _isolation(found: dict[str, Any] | None) -> str:
    if found is None:
        return "Not measured in this run."
    load = found["load"]
    rows = [
        f"Load: {load['clients']} wrk clients repeating {load['request']} "
        f"({load['reads']:,} requests, p50 {load['p50_ms']:,.1f} ms, "
        f"p99 {load['p99_ms']:,.1f} ms). Both kinds of point reads at once, "
        f"{found['seconds']:g} s alone, then {found['seconds']:g} s under the load.",
        "",
        "| point reads by key | reads | p50 ms | p99 ms | p99 ms, corrected | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in (
        ("raw_alone", "raw `dqliteclient`, alone"),
        ("raw_loaded", "raw `dqliteclient`, under the load"),
        ("app_alone", "GET /todos/{key} (wrk), alone"),
        ("app_loaded", "GET /todos/{key} (wrk), under the load"),
    ):
        f = found[key]
        if not f["reads"]:
            rows.append(f"| {label} | none completed in {found['seconds']:g} s | | | | |")
            continue
        corrected = f"{f['p99_corrected_ms']:,.2f}" if "p99_corrected_ms" in f else ""
        rows.append(
            f"| {label} | {f['reads']:,} | {f['p50_ms']:,.2f} | {f['p99_ms']:,.2f} | "
            f"{corrected} | {f['max_ms']:,.2f} |"
        )
    met = "met" if found["met"] else "not met"
    rows += [
        "",
        f"Target: raw point reads p99 <= {found['target_p99_ms']:.0f} ms under the load, "
        f"corrected: {met}. Each read waits for the one before, so the reads a stall held back "
        "were never made and the plain quantiles leave the stall out; the corrected p99 counts "
        f"them as HdrHistogram does, for a client wanting a read every {INTERVAL_MS:g} ms (a "
        f"read that took L ms also counts reads of L - {INTERVAL_MS:g}, L - {2 * INTERVAL_MS:g}, "
        "... ms).",
    ]
    return "\n".join(rows)


def chart(results: dict[str, Any], path: Path) -> None:
    """Log-log: each request's median against rows, and each operation's time."""
    sizes = results["sizes"]
    panels: dict[str, Callable[[str], bool]] = {
        "one row, a write, readiness": lambda n: FIRST not in n and DEEP not in n,
        FIRST: lambda n: FIRST in n,
        DEEP: lambda n: DEEP in n,
    }
    fig, axes = plt.subplots(2, 2, figsize=(15, 11))
    for axis, (title, chosen) in zip(axes.flat, panels.items(), strict=False):
        names = [n for n in sizes[-1]["queries"] if chosen(n)]
        for name in names:
            points = [
                (s["rows"], s["queries"][name]["p50_ms"]) for s in sizes if name in s["queries"]
            ]
            axis.plot(*zip(*points, strict=True), marker="o", label=name.split(" (")[0])
        axis.set_title(title)
        axis.set_ylabel("median latency (ms)")
    axis = axes.flat[3]
    lines = {key: OPERATIONS[key][0] for key in ("fill_s", "restart_s", "backup_s")}
    for case, when in JOINS.items():
        lines[f"join_{case}_catch_up_s"] = f"new node's catch-up, {when}"
    lines["restore"] = "`cli restore` (where stopped: estimated from its pace)"
    for key, label in lines.items():
        found = [
            (s["rows"], _restore_s(s) if key == "restore" else _operations(s).get(key))
            for s in sizes
        ]
        points = [(rows, value) for rows, value in found if value is not None]
        if points:
            axis.plot(*zip(*points, strict=True), marker="o", label=label)
    axis.set_title("operations")
    axis.set_ylabel("seconds")
    for axis in axes.flat:
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("rows in each table")
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    tables = "\n\n".join(_size_tables(size) for size in results["sizes"])
    largest = results["sizes"][-1]["rows"] if results["sizes"] else 0
    return f"""# Data at scale

Written by `make bench ARGS="--scale"` ({m["date"]}); every figure below comes from that one
run. Machine: {m["cpu"]}, Python {m["python"]}, libdqlite {m["libdqlite"]}. Raw figures:
`scale.json`; the chart: `scale.png`.

## How it measures

- The app runs on one embedded dqlite node (`python -m entrypoints`, as `make bench`'s `node`).
  Every example table is filled in bulk to each size in turn: `INSERT ... SELECT` over a
  recursive CTE, at most {BATCH:,} rows per statement, straight into each context's database
  (`tools/bench/fill.py`). Every row is the bench's person's; half the todos are done, half
  the users active; one row in {GROUPS} is in group `{GROUP}`, which the substring filters
  look for; user 1 wrote half the posts (half of those published); account 1 takes part in
  every transfer. After each fill, the last row of each table is read back through the API.
- Each request is timed with wrk, one client, {results["seconds"]:g} s (after a 1 s warm-up
  when that is 2 s or more), the same request over and over, pages of the API's default size.
  A page 90% deep is asked for with the cursor (`after`) found before timing by walking the
  list in pages of {WALK_LIMIT:,}; how many items the list holds is shown beside it. An
  admin (a second person, granted the role with the CLI) asks for everyone's todos.
- RSS is the app process's (`VmRSS`: it embeds the node, which holds its databases in
  memory). Restart: SIGTERM, then a new process, until `/ready` answers 200. Backup and
  restore: `python -m entrypoints.cli backup` of the node, then `restore` of that folder
  into a new, bare node (the restore makes each context's schema), each timed with the CLI's
  own start; a restore still running after {RESTORE_CAP_SECONDS:.0f} s is stopped, and the
  rows it had copied give its pace and an estimate for the whole.
- A new node (node 2) joins with the first as its peer and becomes a voter (a second one),
  twice: right after the fill, whose big transactions are then still in the leader's raft
  log and are sent one by one, and again once the node has taken a snapshot (the bench makes
  more than `APP_SNAPSHOT_THRESHOLD` one-row writes to a scratch database), which is then
  sent instead. Timed from its start, and from the moment it was added, until it votes
  (libraft promotes a node only once its log has caught up with the leader's), and until its
  app serves (its `/ready` says "joining" until it votes; the app keeps waiting past its
  start-up timeout, up to {JOIN_TIMEOUT_SECONDS:.0f} s here). Each time the
  new node is then made the leader and counts its own todos (checked), and is removed from
  the cluster before it stops.
- Isolation, at {largest:,} rows: point reads by key over a raw `dqliteclient` connection
  and through the app, alone, then while {CLIENTS} wrk clients repeat the list request with
  the highest median at that size.

## Isolation

{_isolation(results.get("isolation"))}

## Every size

{tables}

![median latency and operations against rows](scale.png)
"""


def write_scale_report(results: dict[str, Any], out: Path) -> None:
    files = out / "performance"
    files.mkdir(parents=True, exist_ok=True)
    (files / "scale.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, files / "scale.png")
    (files / "scale.md").write_text(_markdown(results))
