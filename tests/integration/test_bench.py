"""`make bench`, as a smoke run: every target is measured and reported (not how fast)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.dqlite import worker_ports
from tools.bench.__main__ import BACKENDS, WORKER_ENDPOINTS
from tools.bench.consistency import LEVELS as READ_LEVELS
from tools.bench.consistency import WRITES_ALONE, WRITES_BESIDE, read_target
from tools.bench.floor_loads import FLOOR_ENDPOINTS, FLOORS, floor_target
from tools.bench.loads import AUTH_ENDPOINTS, ENDPOINTS
from tools.bench.tracing import LEVELS, TRACED_ENDPOINTS, traced_backend


def bench(*arguments: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m tools.bench` on this worker's ports, in a process group of its own that is
    stopped, with the apps it started, if it outlasts `timeout` seconds."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.bench", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCH_PORTS_FROM": str(worker_ports().start)},
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate()
        raise AssertionError(f"the bench took over {timeout:.0f} s:\n{stdout}{stderr}") from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_a_short_bench_measures_every_target_and_writes_its_report(tmp_path: Path) -> None:
    done = bench("--seconds", "1", "--clients", "1", "--out", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    results = json.loads((tmp_path / "performance" / "results.json").read_text())
    measured = {(f["target"], f["backend"]) for f in results["figures"] if f["operations"] > 0}
    expected = {(t, backend) for t in ENDPOINTS for backend in BACKENDS if backend != "workers"}
    expected |= {(target, "workers") for target in WORKER_ENDPOINTS}
    expected |= {(target, "memory") for target in AUTH_ENDPOINTS}
    expected |= {
        ("raw INSERT transaction", "node"),
        ("raw point SELECT", "node"),
        ("go-dqlite kvwrite", "node"),
        ("go-dqlite kvwrite", "cluster"),
        ("store writes, one context", "node"),
        ("store writes, two contexts at once", "node"),
    }
    expected |= {(floor_target(f, target), "node") for f in FLOORS for target in FLOOR_ENDPOINTS}
    expected |= {(t, traced_backend(level)) for t in TRACED_ENDPOINTS for level in LEVELS}
    for backend in ("node", "cluster"):
        expected |= {(read_target(level), backend) for level in READ_LEVELS}
        expected |= {(WRITES_ALONE, backend), (WRITES_BESIDE, backend)}
    assert expected <= measured, sorted(expected - measured)
    assert len(results["targets"]) == 19
    assert set(results["round_trips"]) == {"GET /todos/{key}", "POST /todos", "POST /transfers"}
    assert results["profiles"] == {}  # no flame graph in a smoke run
    assert results["memory_list_10000_ms"] > 0
    assert len(results["layers_us"]) == 4
    assert all(microseconds > 0 for microseconds in results["layers_us"].values())
    assert (tmp_path / "performance" / "chart.png").read_bytes().startswith(b"\x89PNG")
    report = (tmp_path / "performance.md").read_text()
    assert "| POST /todos 1 client / raw INSERT transactions |" in report
    assert "| target | measured | goal | met |" in done.stdout
    assert "| clients | open GET per s | verified GET per s |" in report
    assert "| GET /todos/{key} 1 client / SQLAlchemy Core floor |" in report
    assert "| GET /todos/{key} on memory 1 client / bare FastAPI |" in report
    assert "| POST /todos 1 clients, 2 workers / 1 worker |" in report
    assert "| the app, GET /todos/{key}: + unit of work, use case, store |" in report
    assert "| app, node / raw client | POST /todos |" in report
    consistency = report.split("## Reads that cannot be stale")[1]
    assert "| node | 16 |" in consistency
    assert "| cluster | 16 |" in consistency
    over_http = consistency.split("GET /accounts/{id} per s | ratio |")[1]
    assert "| node | 1 |" in over_http
    assert "| cluster | 1 |" in over_http
    assert "| POST /transfers | " in report.split("Round trips to dqlite per request")[1]
    every_trace = results["tracing_exported"]["100%"]  # what the collector got, sampling all
    assert every_trace["batches"] > 0
    assert every_trace["spans_in_first_batch"] > 0
    assert "| GET /todos/{key} | 1 |" in report.split("## What tracing costs")[1]
