"""The app as an operator runs it, in a subprocess, always stopped: `python -m entrypoints`
with the tests' own ledger added (`python -m tests.ledger.serve`), unless told otherwise.

Every process gets free 127.0.0.1 ports for its dqlite node and its API, and writes its
output to a file (a pipe nobody reads could fill up and block it).
"""

import os
import signal
import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dqlite import free_address
from tests.signing_in import CHEAP_HASHING, signed_up_sync

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 20.0
PORT_ATTEMPTS = 3
UVICORN_PORT_TAKEN = "error while attempting to bind on address"
NODE_ADDRESS_TAKEN = "is already in use by another process"
STOP_TIMEOUT = 10.0


def free_port() -> int:
    return int(free_address().rpartition(":")[2])


class AppProcess:
    """One `python -m entrypoints` with an embedded node; start() again after stop() restarts it."""

    def __init__(
        self,
        workdir: Path,
        *,
        node_address: str | None = None,
        node_id: int = 1,
        module: str = "tests.ledger.serve",
        host: str = "127.0.0.1",
        command_prefix: list[str] | None = None,
        workers: int = 1,
    ) -> None:
        self.workdir = workdir
        self.workers = workers  # APP_WORKERS: above 1, the pid is their supervisor's
        self.module = module
        self.host = host  # of the API and, by default, of the node
        self.command_prefix = command_prefix or []  # e.g. to run it in a network namespace
        self.data_dir = workdir / "data"
        self.node_address = node_address or (
            free_address() if host == "127.0.0.1" else f"{host}:9001"
        )
        self._node_address_chosen = node_address is None and host == "127.0.0.1"
        self.node_id = node_id
        self.peers: list[str] = []  # the other nodes' dqlite addresses, for a cluster
        self.extra_env: dict[str, str] = {}
        self.api_port = free_port()
        self._popen: subprocess.Popen[bytes] | None = None
        self._launches = 0
        self._tokens: dict[str, dict[str, str]] = {}  # email -> its bearer token's headers

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def pid(self) -> int:
        assert self._popen is not None, "the process was never launched"
        return self._popen.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / f"launch{self._launches}.log"

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        return {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), inherited.get("PYTHONPATH")])),
            "APP_STORAGE": "dqlite",
            "APP_EMBEDDED_NODE": "true",
            "APP_MIGRATE_ON_STARTUP": "true",
            "APP_NODE_ID": str(self.node_id),
            "APP_NODE_ADDRESS": self.node_address,
            "APP_PEERS": ",".join(self.peers),
            "APP_DATA_DIR": str(self.data_dir),
            "APP_API_HOST": self.host,
            "APP_PRIVATE_NETWORK": "false" if self.host == "127.0.0.1" else "true",
            "APP_API_PORT": str(self.api_port),
            "APP_WORKERS": str(self.workers),
            # Apps started side by side (a cluster, a backup's source and target) share one
            # token signing key, as production nodes share theirs.
            "APP_AUTH_KEY_DIR": str(self.workdir.parent / "auth-keys"),
            **CHEAP_HASHING,
            **self.extra_env,
        }

    def signed_in(self, email: str = "alice@example.org") -> dict[str, str]:
        """The headers of a bearer token for `email`, registered first if need be; signed in
        once and kept (tokens live 15 minutes), so clients opened at once do not all sign in
        at once: attempts in flight count against the sign-in limit."""
        if email not in self._tokens:
            with httpx.Client(base_url=self.base_url, timeout=10.0, trust_env=False) as client:
                self._tokens[email] = signed_up_sync(client, email)
        return self._tokens[email]

    def grant_role(self, email: str, role: str) -> None:
        """Give `email` (registered first if need be) `role`, with the operators' CLI; its
        next token carries it."""
        self.signed_in(email)
        command = [sys.executable, "-m", "entrypoints.cli", "--cluster", self.node_address]
        env = {k: v for k, v in self.env().items() if k != "APP_EMBEDDED_NODE"}
        done = subprocess.run(
            [*command, "grant-role", email, role],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        del self._tokens[email]

    def launch(self) -> None:
        """Start the process without waiting for it to serve."""
        assert not self.running, "the process is already running"
        self._launches += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            # cwd is the work dir, so no developer's .env file is read by the settings.
            self._popen = subprocess.Popen(
                [*self.command_prefix, sys.executable, "-m", self.module],
                cwd=self.workdir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Launch and return once GET /health answers 200; fail the test with the output if not.

        A port found free can be taken by another process before the app binds it: then the
        app is launched again on another (the node's only when it has no peers bound to it).
        """
        for _ in range(PORT_ATTEMPTS - 1):
            self.launch()
            if not self._exited_before_serving(timeout):
                break
            output = self.output()
            if UVICORN_PORT_TAKEN in output and f"{self.api_port})" in output:
                self.api_port = free_port()
            elif self._node_address_chosen and not self.peers and NODE_ADDRESS_TAKEN in output:
                self.node_address = free_address()
            else:
                break
        else:
            self.launch()
        self.wait_serving(timeout)

    def _exited_before_serving(self, timeout: float) -> bool:
        """Wait until the launched process serves, exits, or `timeout` passes; True if it
        exited without serving."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=1.0, trust_env=False) as client:
            while self.exit_code is None and time.monotonic() < deadline:
                try:
                    if client.get("/health").status_code == 200:
                        return False
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        return self.exit_code is not None

    def wait_serving(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once the launched process answers GET /health, and each of its workers serves;
        fail the test if it does not."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=1.0, trust_env=False) as client:
            while True:
                code = self.exit_code
                if code is not None:
                    pytest.fail(f"the app exited with code {code} before serving:\n{self.output()}")
                try:
                    if client.get("/health").status_code == 200 and self._every_worker_serves():
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() >= deadline:
                    self.stop()
                    pytest.fail(f"the app did not serve within {timeout:.0f}s:\n{self.output()}")
                time.sleep(0.1)

    def _every_worker_serves(self) -> bool:
        """As its supervisor logged (worker 0 alone answers /health for a while)."""
        output = self.output() if self.workers > 1 else ""
        return all(f"worker {k} serving" in output for k in range(1, self.workers))

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The latest launch's exit code; None while it runs."""
        assert self._popen is not None, "the process was never launched"
        return self._popen.poll()

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself; raise subprocess.TimeoutExpired if it does not."""
        assert self._popen is not None, "the process was never launched"
        return self._popen.wait(timeout)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send `signum` to the pid, wait, SIGKILL if it is still there; return the exit code
        once its workers (if any) are gone too, so that its ports are free."""
        if self._popen is None:
            return 0
        workers = list(self.worker_pids().values())
        if self._popen.poll() is None:
            try:
                os.kill(self._popen.pid, signum)
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self._popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended between poll() and kill()
        code = self._popen.wait(timeout)
        wait_until_gone(workers, timeout)
        return code

    def worker_pids(self) -> dict[int, int]:
        """Each worker's pid by its index, while the supervisor runs (APP_WORKERS > 1)."""
        if not self.running or self.workers == 1:
            return {}
        return {
            index: pid for pid in children_of(self.pid) if (index := worker_index(pid)) is not None
        }

    def pause(self) -> None:
        """SIGSTOP the app: its supervisor first, so that it sees no worker stop, then those."""
        for pid in [self.pid, *self.worker_pids().values()]:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT whatever pause() stopped."""
        for pid in [*self.worker_pids().values(), self.pid]:
            os.kill(pid, signal.SIGCONT)

    def output(self) -> str:
        """What the latest launch wrote to stdout and stderr so far."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`, as /proc lists them now (no zombie)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            state_and_parent = _stat(int(entry.name))[:2]
            if state_and_parent[1:] == [str(pid)] and state_and_parent[0] != "Z":
                found.append(int(entry.name))
    return found


def worker_index(pid: int) -> int | None:
    """The index of a supervisor's worker (its process is named `app worker K`), if it is one."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    prefix, _, index = name.rpartition(" ")
    return int(index) if prefix == "app worker" else None


def gone(pid: int) -> bool:
    """The process has ended (a zombie no one reaped yet holds no socket)."""
    return _stat(pid)[:1] in ([], ["Z"])


def wait_until_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running after {timeout:.0f}s: {pids}"
        time.sleep(0.05)


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command's name: state, parent pid, ...; [] if none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def http_client(
    app: AppProcess, timeout: float = 10.0, email: str | None = "alice@example.org"
) -> httpx.Client:
    """A client for `app`'s API, signed in as `email` (unless None), that ignores any proxy
    settings of the environment."""
    headers = app.signed_in(email) if email else {}
    return httpx.Client(base_url=app.base_url, timeout=timeout, trust_env=False, headers=headers)


def assert_problem(response: httpx.Response, status: HTTPStatus, *named: str) -> dict[str, Any]:
    """`response` is an RFC 9457 problem with `status` whose detail names each of `named`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status.value
    assert body["title"] == status.phrase
    for word in named:
        assert word in body["detail"], f"{word!r} is not named in {body['detail']!r}"
    return body
