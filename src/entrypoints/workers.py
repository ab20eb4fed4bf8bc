"""APP_WORKERS > 1: one API port served by several processes of this app on one node.

`python -m entrypoints` becomes a supervisor. It binds the API socket once and starts the
workers, each its own command line again with `--worker K`: they inherit the socket and serve
it with uvicorn, so the kernel hands each new connection to whichever worker accepts first.
Worker 0 is the app as a single process runs it (its embedded node, migrations, membership);
the others are clients of the cluster (no node, no migrations) and start once worker 0 says
it serves, so they never meet a missing schema. Each worker has its own pools, writers' queue,
group commit and relays (each relay names its process, so the lease still has one holder).

The supervisor starts again a worker that dies, after a backoff that grows while it keeps dying,
and on SIGTERM or SIGINT stops the others first and worker 0 last, so the node hands over its
role last, as a single process does. A second Ctrl-C (SIGINT) kills them, as does a deadline.
"""

import ctypes
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn

from entrypoints.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

NODE_HOLDER = 0  # the worker that embeds the node (when the settings ask for one)
READY = b"ready\n"
PR_SET_PDEATHSIG = 1
LISTEN_BACKLOG = 2048  # uvicorn's
ACCEPTS_PER_TURN = 1
FIRST_BACKOFF_SECONDS = 0.5  # before a worker that died is started again; doubled while it
LONGEST_BACKOFF_SECONDS = 10.0  # keeps dying, up to this
STEADY_SECONDS = 30.0  # a worker that lived this long is started again after the first backoff
OTHERS_STOP_SECONDS = 15.0  # workers 1..N-1 finish their requests within this
NODE_HOLDER_STOP_SECONDS = 25.0  # worker 0 also hands over the node's role (10 s at most)
TICK_SECONDS = 0.1
STOP_TICK_SECONDS = 0.02  # a stopping cluster waits on each app's supervisor in turn
# What a worker ended with when it stopped cleanly: uvicorn raises the signal it caught again.
CLEAN_EXITS = (0, -signal.SIGTERM, -signal.SIGINT)

type CommandLine = Callable[[int, int, int], list[str]]  # (index, listen fd, ready fd)


def worker_settings(settings: Settings, index: int) -> Settings:
    """Worker 0 runs as the app does alone; the others are clients of its node."""
    if index == NODE_HOLDER:
        return settings
    return settings.model_copy(update={"embedded_node": False, "migrate_on_startup": False})


def serve_as_worker(
    app: "FastAPI", listen_fd: int, ready_fd: int, options: Mapping[str, Any]
) -> None:
    """Serve `app` on the supervisor's socket; say so on `ready_fd` once it has started."""
    _say_ready_after_startup(app, ready_fd)
    # A socket object made from the fd alone learns it is TCP, so asyncio sets TCP_NODELAY on
    # each connection it accepts; uvicorn's own fd= takes it for a Unix socket, and would not.
    listener = socket.socket(fileno=listen_fd)
    config = uvicorn.Config(app, backlog=ACCEPTS_PER_TURN, **options)
    _SharedSocketServer(config).run(sockets=[listener])


class _SharedSocketServer(uvicorn.Server):
    """Accepts ACCEPTS_PER_TURN connections each time the socket wakes it, not uvicorn's 2048.

    Every worker is woken by a new connection, and the first to run took all those waiting:
    64 connections opened at once were shared 56 to 8, or 64 to 0. asyncio accepts as many as
    the backlog given to create_server, which also makes it the socket's queue: the queue
    is set back to LISTEN_BACKLOG once serving.
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for listener in sockets or []:
            listener.listen(LISTEN_BACKLOG)


def _say_ready_after_startup(app: "FastAPI", ready_fd: int) -> None:
    start_and_stop = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: "FastAPI") -> AsyncIterator[Any]:  # the state, if any
        async with start_and_stop(app) as state:
            os.write(ready_fd, READY)
            os.close(ready_fd)
            yield state

    app.router.lifespan_context = lifespan


def own_command_line(index: int, listen_fd: int, ready_fd: int) -> list[str]:
    """This process's command line again (`-m entrypoints`, or a launcher that calls main),
    as worker `index`."""
    worker = ["--worker", str(index), "--listen-fd", str(listen_fd), "--ready-fd", str(ready_fd)]
    return [sys.executable, *sys.orig_argv[1:], *worker]


def supervise(settings: Settings, command: CommandLine = own_command_line) -> int:
    """Serve the API from `settings.workers` processes until a signal stops them; the exit
    code."""
    address = (settings.api_host, settings.api_port)
    try:
        listener = _listen(*address)
    except OSError as error:  # worded as asyncio words it for uvicorn: launchers look for it
        reason = (os.strerror(error.errno) if error.errno else str(error)).lower()
        message = "[Errno %s] error while attempting to bind on address %r: %s"
        logger.error(message, error.errno, address, reason)
        return 1
    logger.info("serving http://%s:%d from %d workers", *address, settings.workers)
    return Supervisor(listener, settings.workers, command).run()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)


def _die_with_supervisor(supervisor: int) -> Callable[[], None]:
    """In the worker before it runs: the kernel kills it if the supervisor dies, however."""

    def arrange() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != supervisor:  # it died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arrange


@dataclass
class Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    ready_fd: int | None = None  # the pipe's end it says it serves on, until it does
    started_at: float = 0.0
    served: bool = False  # it said it serves, at least once
    backoff: float = FIRST_BACKOFF_SECONDS
    start_at: float | None = None  # when to start it again after it died

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Supervisor:
    listener: socket.socket
    count: int
    command: CommandLine
    workers: list[Worker] = field(init=False)
    stopping: bool = False  # a signal came
    # A second Ctrl-C came. Not any second signal: `make cluster` sends its apps SIGTERM
    # after the terminal sent them SIGINT.
    killing: bool = False
    _ready: selectors.DefaultSelector = field(init=False, default_factory=selectors.DefaultSelector)

    def __post_init__(self) -> None:
        self.workers = [Worker(index) for index in range(self.count)]

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        try:
            if not self._start_node_holder():
                return self._stop(failed=True)
            if not self.stopping:
                for worker in self.workers[1:]:
                    self._launch(worker)
            while not self.stopping:
                self._tick()
            return self._stop()
        finally:
            self.listener.close()
            self._ready.close()

    def _on_signal(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if not self.stopping:
            self.stopping = True
            logger.info("%s: stopping the workers, worker 0 last", name)
        elif signum == signal.SIGINT:  # as uvicorn: a second Ctrl-C does not wait
            self.killing = True
            logger.warning("%s again: killing the workers", name)

    def _start_node_holder(self) -> bool:
        """Start worker 0 and wait until it serves, or a signal comes; False if it died."""
        holder = self.workers[NODE_HOLDER]
        self._launch(holder)
        while not holder.served and not self.stopping:
            self._note_who_serves()
            if not holder.served and not holder.running:
                logger.error("worker 0 exited before serving: stopping")
                return False
        return True

    def _launch(self, worker: Worker) -> None:
        read_end, write_end = os.pipe()
        listen_fd = self.listener.fileno()
        try:
            worker.process = subprocess.Popen(
                self.command(worker.index, listen_fd, write_end),
                pass_fds=(listen_fd, write_end),
                process_group=0,  # a terminal's Ctrl-C reaches the supervisor, which orders
                preexec_fn=_die_with_supervisor(os.getpid()),
            )
        finally:
            os.close(write_end)
        worker.ready_fd, worker.started_at, worker.start_at = read_end, time.monotonic(), None
        self._ready.register(read_end, selectors.EVENT_READ, worker)
        logger.info("worker %d started (pid %d)", worker.index, worker.pid)

    def _tick(self) -> None:
        """Note who says it serves, who died, and start again those whose backoff is over."""
        self._note_who_serves()
        now = time.monotonic()
        for worker in self.workers:
            if worker.process is not None and worker.start_at is None and not worker.running:
                self._died(worker, now)
            elif worker.start_at is not None and now >= worker.start_at and not self.stopping:
                self._launch(worker)

    def _note_who_serves(self) -> None:
        """Wait up to TICK_SECONDS for workers to say they serve (or close their pipe)."""
        for key, _ in self._ready.select(TICK_SECONDS):
            self._heard_from(key.data)

    def _heard_from(self, worker: Worker) -> None:
        assert worker.ready_fd is not None
        said = os.read(worker.ready_fd, len(READY))
        self._forget_ready_fd(worker)
        if said == READY:
            worker.served = True
            logger.info("worker %d serving (pid %d)", worker.index, worker.pid)

    def _forget_ready_fd(self, worker: Worker) -> None:
        if worker.ready_fd is not None:
            self._ready.unregister(worker.ready_fd)
            os.close(worker.ready_fd)
            worker.ready_fd = None

    def _died(self, worker: Worker, now: float) -> None:
        assert worker.process is not None
        self._forget_ready_fd(worker)
        if now - worker.started_at >= STEADY_SECONDS:
            worker.backoff = FIRST_BACKOFF_SECONDS
        worker.start_at = now + worker.backoff
        logger.warning(
            "worker %d (pid %d) exited with code %s; starting it again in %.1f s",
            worker.index,
            worker.pid,
            worker.process.returncode,
            worker.backoff,
        )
        worker.backoff = min(worker.backoff * 2, LONGEST_BACKOFF_SECONDS)

    def _stop(self, *, failed: bool = False) -> int:
        """Stop workers 1..N-1, then worker 0; 0 if each stopped cleanly (and none failed)."""
        # The workers hold the socket too: it listens until the last of them has stopped.
        self.listener.close()
        others = self.workers[1:]
        clean = self._stop_workers(others, OTHERS_STOP_SECONDS)
        clean &= self._stop_workers(self.workers[:1], NODE_HOLDER_STOP_SECONDS)
        logger.info("every worker stopped")
        return 0 if clean and not failed else 1

    def _stop_workers(self, workers: list[Worker], seconds: float) -> bool:
        """SIGTERM, then SIGKILL past `seconds` or at a second Ctrl-C; True if each stopped
        cleanly."""
        running = [w for w in workers if w.running]
        for worker in running:
            assert worker.process is not None
            worker.process.terminate()
        deadline = time.monotonic() + seconds
        while any(w.running for w in running):
            if self.killing or time.monotonic() >= deadline:
                for worker in running:
                    if worker.running:
                        assert worker.process is not None
                        logger.warning("killing worker %d (pid %d)", worker.index, worker.pid)
                        worker.process.kill()
                        worker.process.wait()
                return False
            time.sleep(STOP_TICK_SECONDS)
        return all(w.process is not None and w.process.returncode in CLEAN_EXITS for w in running)
