"""APP_WORKERS > 1: one API port served by several processes of this app on one node.

`python -m entrypoints` becomes a supervisor. It binds the API socket once, imports the app,
and forks the workers, which serve that socket with uvicorn (each named `app worker K`). Worker
0 is the app as a single process runs it (its embedded node, migrations, membership); the
others are clients of the cluster (no node, no migrations) and start once worker 0 says it
serves, so they never meet a missing schema. Each worker has its own pools, writers' queue,
group commit and relays (each relay names its process, so the lease still has one holder).

Forked rather than started afresh, a worker imports nothing: it starts in a tenth of a second
instead of two or more (many more on a busy machine), and the imported code stays shared. The
supervisor runs no thread and opens no connection, so there is nothing a fork could break.

The supervisor starts again a worker that dies, after a backoff that grows while it keeps
dying, and on SIGTERM or SIGINT stops the others first and worker 0 last, so the node hands
over its role last, as a single process does. A second Ctrl-C (SIGINT) kills them, as does a
deadline; if the supervisor itself is killed, the kernel kills them.
"""

import ctypes
import gc
import logging
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import uvicorn

from entrypoints.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

NODE_HOLDER = 0  # the worker that embeds the node (when the settings ask for one)
READY = b"ready\n"
PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
LISTEN_BACKLOG = 2048  # uvicorn's
ACCEPTS_PER_TURN = 1
STARTUP_FAILURE = 3  # uvicorn's exit code for an app that did not start
FIRST_BACKOFF_SECONDS = 0.5  # before a worker that died is started again; doubled while it
LONGEST_BACKOFF_SECONDS = 10.0  # keeps dying, up to this
STEADY_SECONDS = 30.0  # a worker that lived this long is started again after the first backoff
OTHERS_STOP_SECONDS = 15.0  # workers 1..N-1 finish their requests within this
NODE_HOLDER_STOP_SECONDS = 25.0  # worker 0 also hands over the node's role (10 s at most)
TICK_SECONDS = 0.1
STOP_TICK_SECONDS = 0.02  # a stopping cluster waits on each app's supervisor in turn
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# What a worker ended with when it stopped cleanly: uvicorn raises the signal it caught again.
CLEAN_EXITS = (0, -signal.SIGTERM, -signal.SIGINT)

# Serves worker `index` on the listener, telling the ready fd once it serves; in the worker.
type ServeWorker = Callable[[int, socket.socket, int], None]


def worker_settings(settings: Settings, index: int) -> Settings:
    """Worker 0 runs as the app does alone; the others are clients of its node."""
    if index == NODE_HOLDER:
        return settings
    return settings.model_copy(update={"embedded_node": False, "migrate_on_startup": False})


def serve_as_worker(
    app: "FastAPI", listener: socket.socket, ready_fd: int, options: Mapping[str, Any]
) -> None:
    """Serve `app` on the supervisor's socket; say so on `ready_fd` once it has started."""
    _say_ready_after_startup(app, ready_fd)
    server = _SharedSocketServer(uvicorn.Config(app, backlog=ACCEPTS_PER_TURN, **options))
    server.run(sockets=[listener])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


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


def supervise(settings: Settings, serve_worker: ServeWorker) -> int:
    """Serve the API from `settings.workers` processes until a signal stops them; the exit
    code. Whatever the caller imported before is shared with the workers."""
    address = (settings.api_host, settings.api_port)
    try:
        listener = _listen(*address)
    except OSError as error:  # worded as asyncio words it for uvicorn: launchers look for it
        reason = (error.strerror or str(error)).lower()
        message = "[Errno %s] error while attempting to bind on address %r: %s"
        logger.error(message, error.errno, address, reason)
        return 1
    logger.info("serving http://%s:%d from %d workers", *address, settings.workers)
    gc.freeze()  # the imported objects stay out of collections, so their pages stay shared
    return Supervisor(listener, settings.workers, serve_worker).run()


def _listen(host: str, port: int) -> socket.socket:
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    # Made with its protocol (TCP), as asyncio's own are: asyncio sets TCP_NODELAY only on
    # connections accepted from such a socket.
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(LISTEN_BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def _prctl(option: int, value: int | bytes) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value)


@dataclass
class Worker:
    index: int
    pid: int | None = None
    exit_code: int | None = None
    ready_fd: int | None = None  # the pipe's end it says it serves on, until it does
    started_at: float = 0.0
    served: bool = False  # it said it serves, at least once
    backoff: float = FIRST_BACKOFF_SECONDS
    start_at: float | None = None  # when to start it again after it died

    @property
    def running(self) -> bool:
        if self.pid is not None and self.exit_code is None:
            ended, status = os.waitpid(self.pid, os.WNOHANG)
            if ended:
                self.exit_code = os.waitstatus_to_exitcode(status)
        return self.pid is not None and self.exit_code is None

    def signal(self, signum: int) -> None:
        if self.running:
            assert self.pid is not None
            os.kill(self.pid, signum)


@dataclass
class Supervisor:
    listener: socket.socket
    count: int
    serve_worker: ServeWorker
    workers: list[Worker] = field(init=False)
    stopping: bool = False  # a signal came
    # A second Ctrl-C came. Not any second signal: `make cluster` sends its apps SIGTERM
    # after the terminal sent them SIGINT.
    killing: bool = False
    _ready: selectors.DefaultSelector = field(init=False, default_factory=selectors.DefaultSelector)

    def __post_init__(self) -> None:
        self.workers = [Worker(index) for index in range(self.count)]

    def run(self) -> int:
        for signum in STOP_SIGNALS:
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
                code = holder.exit_code
                logger.error("worker 0 exited with code %s before serving: stopping", code)
                return False
        return True

    def _launch(self, worker: Worker) -> None:
        read_end, write_end = os.pipe()
        supervisor = os.getpid()
        sys.stdout.flush()  # else the worker would inherit, and write again, what is buffered
        sys.stderr.flush()
        # Held back until the worker has its own handlers: SIGTERM to a worker just forked
        # must stop it, not run the supervisor's handler in it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            self._become(worker.index, write_end, supervisor, mask)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(write_end)
        worker.pid, worker.exit_code, worker.start_at = pid, None, None
        worker.ready_fd, worker.started_at = read_end, time.monotonic()
        self._ready.register(read_end, selectors.EVENT_READ, worker)
        logger.info("worker %d started (pid %d)", worker.index, pid)

    def _become(
        self, index: int, ready_fd: int, supervisor: int, mask: set[int | signal.Signals]
    ) -> NoReturn:
        """In the forked process: serve as worker `index`, and never return to the caller."""
        code = 1
        try:
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)  # uvicorn installs its own handlers
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.setpgid(0, 0)  # a terminal's Ctrl-C reaches the supervisor, which orders
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != supervisor:  # it died before prctl took effect
                os._exit(1)
            _prctl(PR_SET_NAME, f"app worker {index}".encode())
            self._ready.close()  # the supervisor's: closing this copy leaves it as it was
            for other in self.workers:
                if other.ready_fd is not None:
                    os.close(other.ready_fd)
            self.serve_worker(index, self.listener, ready_fd)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            logger.exception("worker %d failed", index)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _tick(self) -> None:
        """Note who says it serves, who died, and start again those whose backoff is over."""
        self._note_who_serves()
        now = time.monotonic()
        for worker in self.workers:
            if worker.pid is not None and worker.start_at is None and not worker.running:
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
        self._forget_ready_fd(worker)
        if now - worker.started_at >= STEADY_SECONDS:
            worker.backoff = FIRST_BACKOFF_SECONDS
        worker.start_at = now + worker.backoff
        logger.warning(
            "worker %d (pid %d) exited with code %s; starting it again in %.1f s",
            worker.index,
            worker.pid,
            worker.exit_code,
            worker.backoff,
        )
        worker.backoff = min(worker.backoff * 2, LONGEST_BACKOFF_SECONDS)

    def _stop(self, *, failed: bool = False) -> int:
        """Stop workers 1..N-1, then worker 0; 0 if each stopped cleanly (and none failed)."""
        # The workers hold the socket too: it listens until the last of them has stopped.
        self.listener.close()
        clean = self._stop_workers(self.workers[1:], OTHERS_STOP_SECONDS)
        clean &= self._stop_workers(self.workers[:1], NODE_HOLDER_STOP_SECONDS)
        logger.info("every worker stopped")
        return 0 if clean and not failed else 1

    def _stop_workers(self, workers: list[Worker], seconds: float) -> bool:
        """SIGTERM, then SIGKILL past `seconds` or at a second Ctrl-C; True if each stopped
        cleanly."""
        running = [w for w in workers if w.running]
        for worker in running:
            worker.signal(signal.SIGTERM)
        deadline = time.monotonic() + seconds
        while any(w.running for w in running):
            if self.killing or time.monotonic() >= deadline:
                for worker in running:
                    if worker.running:
                        logger.warning("killing worker %d (pid %d)", worker.index, worker.pid)
                        worker.signal(signal.SIGKILL)
                        assert worker.pid is not None
                        os.waitpid(worker.pid, 0)
                return False
            time.sleep(STOP_TICK_SECONDS)
        return all(w.exit_code in CLEAN_EXITS for w in running)
