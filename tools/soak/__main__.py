"""`make soak` (`python -m tools.soak`): the app with its embedded node under a steady write
load through its API for SOAK_MINUTES (30 by default). Every 30 s it samples the raft log (its
segment files), the snapshots, the data dir and the app's RSS; then it writes the series and
a table to docs/performance/soak.json and soak.md and says whether each stopped growing.
"""

import argparse
import asyncio
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from entrypoints.settings import Settings
from tools.soak.app import SoakedApp
from tools.soak.figures import data_dir, free_port, memory_kib
from tools.soak.load import SteadyWrites
from tools.soak.report import Run, Sample, failures, table, verdict, write

ROOT = Path(__file__).resolve().parents[2]


def sample(app: SoakedApp, load: SteadyWrites, seconds: float) -> Sample:
    disk = data_dir(app.data_dir)
    statuses, latencies = load.take_interval()
    errors = sum(failures(statuses).values())
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else 0.0
    return Sample(
        round(seconds, 1),
        disk.log_bytes,
        disk.segments,
        disk.snapshot_bytes,
        disk.snapshots,
        disk.total_bytes,
        memory_kib(app.pid)[0],
        sum(statuses.values()),
        errors,
        round(p99, 1),
        dict(sorted(statuses.items())),
    )


async def soak(app: SoakedApp, run: Run, seconds: float) -> list[Sample]:
    load = SteadyWrites(app.url, run.rate, run.live)
    started = time.monotonic()
    writing = asyncio.create_task(load.run(seconds))
    samples = []
    while True:
        samples.append(sample(app, load, time.monotonic() - started))
        s = samples[-1]
        print(
            f"{s.seconds / 60:5.1f} min  log {s.log_bytes / 2**20:5.1f} MB ({s.segments} "
            f"segments)  snapshots {s.snapshots}: {s.snapshot_bytes / 2**20:5.1f} MB  data dir "
            f"{s.data_dir_bytes / 2**20:5.1f} MB  RSS {s.rss_kib / 1024:4.0f} MB  "
            f"{s.requests} requests, {s.errors} errors {failures(s.statuses) or ''}",
            flush=True,
        )
        if writing.done():
            break
        await asyncio.wait({writing}, timeout=run.sample_seconds)
    await writing  # its failure, if it failed
    return samples


def snapshot_settings(overrides: dict[str, str]) -> dict[str, str]:
    fields = Settings.model_fields
    return {
        "APP_SNAPSHOT_THRESHOLD": str(fields["snapshot_threshold"].default),
        "APP_SNAPSHOT_TRAILING": str(fields["snapshot_trailing"].default),
        **overrides,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or 30)
    )
    parser.add_argument("--seconds", type=float, help="a short run: overrides --minutes")
    parser.add_argument("--rate", type=float, default=60.0, help="requests per second")
    parser.add_argument("--live", type=int, default=1000, help="todos kept (about)")
    parser.add_argument("--sample-seconds", type=float, default=30.0)
    parser.add_argument(
        "--setting", action="append", default=[], metavar="APP_NAME=VALUE", help="(repeatable)"
    )
    parser.add_argument("--port", type=int, default=45000, help="the first port to try")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    overrides = dict(setting.split("=", 1) for setting in args.setting)
    run = Run(
        round(seconds / 60, 2),
        args.rate,
        args.live,
        args.sample_seconds,
        snapshot_settings(overrides),
        datetime.date.today().isoformat(),
    )
    api_port = free_port(args.port)
    node_port = free_port(api_port + 1)
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        app = SoakedApp(Path(workdir), api_port, node_port, overrides)
        try:
            app.start()
            samples = asyncio.run(soak(app, run, seconds))
        finally:
            app.stop()
    said = write(args.out, run, samples)
    print(table(samples, verdict(samples)), f"Verdict: {said}.", sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
