"""This process's writers, queued in arrival order while the database answers them, and
taking turns with the writers of the app's other worker processes (APP_WORKERS)."""

import asyncio
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Literal

from service.errors import StoreUnavailable

# How long a write refused for want of disk space keeps /ready at 503 when nothing commits
# after it (a balancer that stops sending writes must not keep the node out for good).
FULL_DISK_REPORT_SECONDS = 30.0


class WriterQueue:
    """One read-write unit of work at a time, first come first served.

    dqlite has one writer per database. Queued here, this process's writers take turns instead
    of polling the database's lock (SQLITE_BUSY) until one runs out of time, so many writers
    keep the throughput of one. A write that fails for want of the database (its leader gone,
    say) opens the queue: writers then go straight to the database, each looking for the new
    leader on its own, rather than one after another behind a writer that waits for a node
    that will not answer. The first write to commit closes it again.

    The queue also remembers a write refused for want of disk space, until one commits.
    """

    def __init__(self, wait_seconds: float = 5.0) -> None:
        self.wait_seconds = wait_seconds  # as long as the driver's busy timeout
        self._turn = asyncio.Lock()
        self._open = asyncio.Event()
        self._refused_for_space_at: float | None = None
        self.queued = 0  # writers waiting for the turn
        self._contending = 0  # calls that wait for the turn, or settle their wait

    async def enter(self) -> bool:
        """Wait for this writer's turn: True once it has it (`leave()` when done), False when
        the queue is open and the writer goes on without one."""
        if self._open.is_set():
            return False
        if not (self._turn.locked() or self._contending):  # nobody holds or awaits the turn
            return await self._turn.acquire()  # which then takes it without waiting
        self._contending += 1
        try:
            return await self._wait_for_turn()
        finally:
            self._contending -= 1

    async def _wait_for_turn(self) -> bool:
        turn = asyncio.ensure_future(self._turn.acquire())
        opened = asyncio.ensure_future(self._open.wait())
        self.queued += 1
        try:
            await asyncio.wait(
                {turn, opened}, timeout=self.wait_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:  # cancelled while waiting: a turn granted meanwhile is passed on
            if await self._settle(turn):
                self._turn.release()
            raise
        finally:
            self.queued -= 1
            opened.cancel()
        if await self._settle(turn):
            return True
        if self._open.is_set():
            return False
        raise StoreUnavailable("too many writers are queued for the database")

    @staticmethod
    async def _settle(turn: asyncio.Future[Literal[True]]) -> bool:
        """Stop waiting for the turn: True when it was granted all the same."""
        turn.cancel()  # no effect once granted
        await asyncio.wait({turn})
        return not turn.cancelled()

    async def take_turn(self) -> None:
        """Wait for the turn however long it takes, whether the queue is open or not (for
        work that must not be skipped, such as committing what others wait for)."""
        self._contending += 1
        try:
            await self._turn.acquire()
        finally:
            self._contending -= 1

    def leave(self) -> None:
        self._turn.release()

    def database_failed(self, *, disk_full: bool = False) -> None:
        self._open.set()
        if disk_full:
            self._refused_for_space_at = time.monotonic()

    def committed(self) -> None:
        self._open.clear()
        self._refused_for_space_at = None

    @property
    def disk_full(self) -> bool:
        """A write was refused for want of disk space lately, and none has committed since."""
        at = self._refused_for_space_at
        return at is not None and time.monotonic() - at < FULL_DISK_REPORT_SECONDS


class SiblingWriteLock:
    """One database's write lock among the worker processes of one app, held by a process's
    shared transaction from its BEGIN to its COMMIT.

    Each worker's writers queue apart. Without this lock they meet at dqlite's write lock,
    where a refused BEGIN sleeps before it tries again (the driver's busy retries, up to
    100 ms each), while the holder's next batch takes the lock again at once: measured with 64
    writers over 2 workers, p99 1.0-1.5 s; with it, 0.2 s. It is an flock on a file the
    workers share: the kernel wakes a worker waiting for it as the holder lets go, and the
    holder's next attempt starts a thread first, so the waiting worker mostly goes first (the
    kernel promises no order). A waiting thread is a daemon: a worker that stops while it
    waits (its sibling frozen, say) is not held up by it.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._held = False
        # A wait given up (cancelled) whose thread may still take the lock. The process's
        # waits share one descriptor, and flock lets a second wait on it through at once once
        # the first has the lock: so the next wait takes this one over instead of starting
        # another, and if none comes, the lock is let go as soon as it is taken.
        self._given_up: asyncio.Future[None] | None = None

    async def acquire(self) -> None:
        taken, self._given_up = self._given_up, None
        if taken is None:
            taken = self._wait_on_a_thread()
        try:
            await asyncio.shield(taken)
        except BaseException:
            self._given_up = taken
            taken.add_done_callback(self._let_go_unless_taken_over)
            raise
        self._held = True

    def _wait_on_a_thread(self) -> asyncio.Future[None]:
        fd = self._opened()
        loop = asyncio.get_running_loop()
        taken: asyncio.Future[None] = loop.create_future()

        def take() -> None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            loop.call_soon_threadsafe(_settle, taken)

        threading.Thread(target=take, name="sibling write lock", daemon=True).start()
        return taken

    def _let_go_unless_taken_over(self, taken: asyncio.Future[None]) -> None:
        if self._given_up is taken:
            self._given_up = None
            self._unlock()

    def release(self) -> None:
        """Let go, if held (harmless to call again)."""
        if self._held:
            self._held = False
            self._unlock()

    def _opened(self) -> int:
        if self._fd is None:  # opened in the worker: a descriptor shared across fork() is
            self._path.parent.mkdir(parents=True, exist_ok=True)  # one lock, not two
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def _unlock(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
