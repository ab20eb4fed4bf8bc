"""What an operator waits for, timed on the bench's node: a restart, and the CLI that backups
(backups.py) and roles go through; what the node holds: its memory and its data dir."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tools.bench.apps import STARTUP_SECONDS, App, PortTaken

POLL_SECONDS = 0.05
LOG_TAIL = 2000  # characters


def rss_mb(app: App) -> float:
    """The resident memory of the app process, which embeds the node."""
    assert app.process is not None
    status = Path(f"/proc/{app.process.pid}/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    return int(kilobytes) / 1024


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def data_dir(app: App) -> Path:
    return Path(app.env["APP_DATA_DIR"])


def exited(app: App) -> None:
    """Raise RuntimeError, with the end of its log, if the app's process has exited;
    PortTaken if a port found free was taken before the app bound it."""
    if app.process is not None and app.process.poll() is not None:
        log = (app.workdir / "app.log").read_text()[-LOG_TAIL:]
        if "already in use" in log:
            raise PortTaken(log)
        raise RuntimeError(f"the app in {app.workdir} exited: {log}")


def serving(app: App, within: float = STARTUP_SECONDS) -> float:
    """Seconds until the app's /ready answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        exited(app)
        try:
            with urllib.request.urlopen(app.url + "/ready", timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{app.url} was not ready within {within:.0f} s")


def restart(app: App) -> dict[str, float]:
    """Stop the app (SIGTERM), start it again: how long each took, until it serves."""
    started = time.perf_counter()
    app.stop()
    stopped = time.perf_counter() - started
    app.start()
    return {"stop_s": stopped, "restart_s": serving(app)}


def start_cli(app: App, *arguments: str, node: str = "") -> subprocess.Popen[str]:
    """Start the operators' CLI with `app`'s settings, against `node` (by default `app`'s)."""
    command = ["-m", "entrypoints.cli", "--cluster", node or app.env["APP_NODE_ADDRESS"]]
    return subprocess.Popen(
        [sys.executable, *command, *arguments],
        cwd=app.workdir,
        env=app.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class CliFailed(RuntimeError):
    def __init__(self, arguments: object, printed: str) -> None:
        super().__init__(f"{arguments!r} failed: {printed}")
        self.printed = printed


def finish(cli: subprocess.Popen[str], timeout: float | None = None) -> str:
    """What the CLI printed, once it is done; CliFailed if it failed, TimeoutExpired if it
    is still running after `timeout` seconds."""
    printed, _ = cli.communicate(timeout=timeout)
    if cli.returncode != 0:
        raise CliFailed(cli.args, printed)
    return printed


def cli(app: App, *arguments: str, node: str = "") -> tuple[float, str]:
    """Run the operators' CLI: the seconds it took (its start included), and what it printed."""
    started = time.perf_counter()
    printed = finish(start_cli(app, *arguments, node=node))
    return time.perf_counter() - started, printed
