"""One measurement: how many operations a load finished in a fixed time, and their latencies."""

import json
import os
import statistics
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).with_name("lua")


@dataclass(frozen=True)
class Figure:
    """What one target did: e.g. `POST /todos` on `node` with 16 clients."""

    target: str
    backend: str
    clients: int
    throughput: float  # operations per second
    p50_ms: float
    p99_ms: float
    errors: int
    operations: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wrk(
    url: str,
    script: str,
    clients: int,
    seconds: float,
    arguments: list[str],
    authorization: str = "",
) -> dict[str, float]:
    """Run wrk (one thread: the other core is the app's) and return its JSON summary line."""
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(clients),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--script",
        str(LUA / script),
        url,
        "--",
        *arguments,
    ]
    environment = {**os.environ, "BENCH_LUA_DIR": str(LUA), "BENCH_AUTHORIZATION": authorization}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    summary: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def from_wrk(target: str, backend: str, clients: int, summary: dict[str, float]) -> Figure:
    errors = sum(
        int(summary[kind])
        for kind in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return Figure(
        target,
        backend,
        clients,
        throughput=summary["requests"] / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=errors,
        operations=int(summary["requests"]),
    )


def from_latencies(
    target: str, backend: str, clients: int, latencies_ms: list[float], seconds: float, errors: int
) -> Figure:
    ordered = sorted(latencies_ms) or [0.0]
    return Figure(
        target,
        backend,
        clients,
        throughput=len(latencies_ms) / seconds,
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        errors=errors,
        operations=len(latencies_ms),
    )


def from_go_results(results: Path, backend: str, counted_from: float) -> Figure:
    """go-dqlite's result files: `n`, `n_err`, then one `timestamp-ns latency-ms` line per
    write; only writes sent after `counted_from` (wall-clock seconds) count."""
    sent: list[tuple[float, float]] = []
    errors = 0
    for path in results.iterdir():
        lines = path.read_text().splitlines()
        errors += int(next(line.split()[1] for line in lines if line.startswith("n_err")))
        start = lines.index("measurements [timestamp in ns] [ms]") + 1
        for line in lines[start:]:
            parts = line.split()
            if len(parts) != 2:
                break
            sent.append((int(parts[0]) / 1e9, float(parts[1])))
    counted = [(at, ms) for at, ms in sent if at >= counted_from]
    if not counted:
        raise RuntimeError(f"go-dqlite made no write after {counted_from}")
    seconds = max(at + ms / 1000 for at, ms in counted) - counted_from
    latencies = [ms for _, ms in counted]
    return from_latencies("go-dqlite kvwrite", backend, 1, latencies, seconds, errors)
