"""The stack's floors (tools/bench/floors) under the app's wrk loads, in the same run: each in a
process of its own, on the node the app embeds."""

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tools.bench.apps import PORT_ATTEMPTS, STARTUP_SECONDS, free_port, stop_process
from tools.bench.loads import ENDPOINTS, load
from tools.bench.measure import Figure

ROOT = Path(__file__).resolve().parents[2]
FLOORS = ("bare", "raw", "core")
FLOOR_ENDPOINTS = {target: ENDPOINTS[target] for target in ("GET /todos/{key}", "POST /todos")}


def floor_target(floor: str, endpoint: str) -> str:
    return f"floor {floor}: {endpoint}"


class Floor:
    """`python -m tools.bench.floors.<name>` on a free port, logging to a file, stopped by pid."""

    def __init__(self, name: str, node: str, workdir: Path) -> None:
        self.name, self.node, self.log = name, node, workdir / f"floor-{name}.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        module = f"tools.bench.floors.{self.name}"
        arguments = ["--port", str(self.port), "--node", self.node]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, *arguments],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        """Until it serves a seeded todo (its table is made and seeded by then); started again
        on another port if the one found free was taken meanwhile."""
        deadline = time.monotonic() + STARTUP_SECONDS
        restarts = PORT_ATTEMPTS - 1
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = self.log.read_text()
                if "already in use" not in log or restarts == 0:
                    raise RuntimeError(f"floor {self.name} exited: {log}")
                restarts -= 1
                self.port = free_port()
                self.start()
            try:
                with urllib.request.urlopen(f"{self.url}/todos/seed-1", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"floor {self.name} was not ready within {STARTUP_SECONDS:.0f}s")

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def running_floors(workdir: Path, node: str) -> Iterator[list[Floor]]:
    """Every floor, started at once and ready."""
    with ExitStack() as stack:
        floors = [Floor(name, node, workdir) for name in FLOORS]
        for floor in floors:
            stack.callback(floor.stop)
            floor.start()
        for floor in floors:
            floor.wait_ready()
        yield floors


def load_floors(workdir: Path, node: str, clients: list[int], seconds: float) -> list[Figure]:
    """GET /todos/{key} and POST /todos on each floor, at each client count, as the app."""
    figures: list[Figure] = []
    with running_floors(workdir, node) as floors:
        for floor in floors:
            endpoints = {
                floor_target(floor.name, target): script
                for target, script in FLOOR_ENDPOINTS.items()
            }
            figures += load(floor.url, endpoints, "node", clients, seconds, tag=floor.name)
    return figures
