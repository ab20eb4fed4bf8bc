"""The app with its embedded node, in a process of its own on given ports, stopped by pid."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0


class SoakedApp:
    def __init__(self, workdir: Path, api_port: int, node_port: int, settings: dict[str, str]):
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.url = f"http://127.0.0.1:{api_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("APP_")},
            "APP_STORAGE": "dqlite",
            "APP_NODE_ADDRESS": f"127.0.0.1:{node_port}",
            "APP_DATA_DIR": str(self.data_dir),
            "APP_API_HOST": "127.0.0.1",
            "APP_API_PORT": str(api_port),
            "APP_ACCESS_TOKEN_MINUTES": str(24 * 60),
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

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
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited: {(self.workdir / 'app.log').read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the app was not ready within {STARTUP_SECONDS:.0f} s")

    def stop(self) -> None:
        """SIGTERM (the node stops cleanly), then SIGKILL if it has not within STOP_SECONDS."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
