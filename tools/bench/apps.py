"""The systems under load, each in processes of its own on free 127.0.0.1 ports: the app on
the in-memory store, on one embedded dqlite node, on a 3-node cluster; go-dqlite's benchmark."""

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from dqlitewire.constants import NodeRole

from adapters.dqlite.leader import CLIENT_ERRORS, cluster_client

STARTUP_SECONDS = 60.0
WORKERS = 2  # the `workers` backend's APP_WORKERS: one process per core here
PORT_ATTEMPTS = 3
GO_SETTLE_SECONDS = 8  # go-dqlite promotes joining nodes to voters within ~3 s here


# BENCH_PORTS_FROM=40000: ports from there (PORTS_IN_BLOCK of them), for a machine whose other
# work keeps to blocks of its own; by default the kernel picks one.
PORTS_IN_BLOCK = 1_000
_block = os.environ.get("BENCH_PORTS_FROM")
_ports = itertools.cycle(range(int(_block), int(_block) + PORTS_IN_BLOCK)) if _block else None


def free_port() -> int:
    for port in itertools.islice(_ports, PORTS_IN_BLOCK) if _ports else [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError(f"no free port from BENCH_PORTS_FROM={_block} on")


class App:
    """One `python -m entrypoints`, logging to a file, stopped by pid."""

    def __init__(self, workdir: Path, env: dict[str, str], port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("APP_")},
            "APP_API_HOST": "127.0.0.1",
            "APP_API_PORT": str(self.port),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "app.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints"],
                cwd=self.workdir,  # no developer's .env file
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.workdir / "app.log").read_text()
                if "already in use" in log:
                    raise PortTaken(log)
                raise RuntimeError(f"the app exited: {log}")
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the app was not ready within {STARTUP_SECONDS:.0f}s")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def node_env(node_id: int, address: str, data_dir: Path, peers: list[str]) -> dict[str, str]:
    return {
        "APP_STORAGE": "dqlite",
        "APP_EMBEDDED_NODE": "true",
        "APP_MIGRATE_ON_STARTUP": "true",
        "APP_NODE_ID": str(node_id),
        "APP_NODE_ADDRESS": address,
        "APP_PEERS": ",".join(peers),
        "APP_DATA_DIR": str(data_dir),
        "APP_DATABASE_PREFIX": "bench_",
        "APP_AUTH_KEY_DIR": str(data_dir.parent.parent / "auth-keys"),  # one for the cluster
        "APP_LOG_LEVEL": "warning",
    }


class PortTaken(RuntimeError):
    """A port found free was taken (e.g. by an outgoing connection) before the app bound it."""


def _apps(workdir: Path, backend: str, settings: dict[str, str]) -> list[App]:
    if backend == "memory":
        return [App(workdir / "memory", {"APP_STORAGE": "memory", **settings})]
    if backend == "workers":  # one node, its API served by WORKERS processes
        settings = {"APP_WORKERS": str(WORKERS), **settings}
    size = 3 if backend == "cluster" else 1
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(size)]
    return [
        App(
            workdir / f"{backend}{n}",
            {**node_env(n, address, workdir / f"{backend}{n}" / "data", addresses), **settings},
        )
        for n, address in enumerate(addresses, start=1)
    ]


@contextmanager
def running_apps(
    workdir: Path, backend: str, settings: dict[str, str] | None = None
) -> Iterator[list[App]]:
    """The app on `backend` (memory, node, workers or cluster) with extra APP_ `settings`,
    ready; the API of each node. Started afresh on other ports (up to 3 times) if a port was
    taken."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        with ExitStack() as stack:
            apps = _apps(workdir / f"attempt{attempt}", backend, settings or {})
            try:
                for app in apps:
                    stack.callback(app.stop)
                    app.start()
                    app.wait_ready()
            except PortTaken:
                if attempt == PORT_ATTEMPTS:
                    raise
                continue
            yield apps
            return


def go_dqlite_benchmark(workdir: Path, size: int, seconds: int, workers: int) -> tuple[Path, float]:
    """Run go-dqlite's `dqlite-benchmark` (kvwrite) on `size` nodes, its driver on the first.

    Its nodes join as spares and are promoted a few seconds later, so the run is longer than
    `seconds` and only the writes made once every node votes count: returns the directory of
    the driver's result files and the wall-clock time from which writes count.
    """
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(size)]
    joiners: list[subprocess.Popen[bytes]] = []
    try:
        for n, address in enumerate(addresses[1:], start=1):
            joiners.append(_go_node(workdir, n, ["--db", address, "--join", addresses[0]]))
        run_for = seconds + (GO_SETTLE_SECONDS if size > 1 else 0)
        driving = ["--driver", "--cluster", ",".join(addresses), "--duration", str(run_for)]
        driver = _go_node(workdir, 0, ["--db", addresses[0], *driving, "--workers", str(workers)])
        try:
            counted_from = asyncio.run(_all_voting(addresses, GO_SETTLE_SECONDS)) + 0.5
            code = driver.wait(run_for + STARTUP_SECONDS)
        finally:
            stop_process(driver)
        if code != 0:
            raise RuntimeError(f"dqlite-benchmark failed: {(workdir / 'go0.log').read_text()}")
    finally:
        for joiner in joiners:
            stop_process(joiner)
    return workdir / "go0" / addresses[0] / "results", counted_from


async def _all_voting(addresses: list[str], within: float) -> float:
    """The wall-clock time at which every node of the benchmark's cluster was a voter."""
    client = cluster_client(addresses)
    deadline = time.monotonic() + STARTUP_SECONDS + within
    while time.monotonic() < deadline:
        try:
            nodes = await client.cluster_info()
        except CLIENT_ERRORS:
            nodes = []
        if len(nodes) == len(addresses) and all(n.role == NodeRole.VOTER for n in nodes):
            return time.time()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"go-dqlite's nodes {addresses} never all voted")


def _go_node(workdir: Path, n: int, arguments: list[str]) -> subprocess.Popen[bytes]:
    with (workdir / f"go{n}.log").open("wb") as log:
        return subprocess.Popen(
            ["dqlite-benchmark", "--dir", str(workdir / f"go{n}"), *arguments],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
