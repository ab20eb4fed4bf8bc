"""The dqlite store's writers' queue: one at a time in order, and out of the way in a failover;
and the lock the writers of several worker processes take turns at."""

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.dqlite import writers
from adapters.dqlite.writers import SiblingWriteLock, WriterQueue
from service.errors import StoreUnavailable


async def test_writers_take_turns_in_the_order_they_arrived() -> None:
    queue, order = WriterQueue(), []

    async def write(n: int) -> None:
        assert await queue.enter()
        order.append(n)
        await asyncio.sleep(0.01)
        queue.leave()

    await asyncio.gather(*(write(n) for n in range(10)))

    assert order == list(range(10))


async def test_a_writer_that_waits_too_long_is_told_the_store_is_unavailable() -> None:
    queue = WriterQueue(wait_seconds=0.05)
    assert await queue.enter()

    with pytest.raises(StoreUnavailable, match="queued"):
        await queue.enter()


async def test_a_failed_write_lets_the_waiting_writers_go_on_without_their_turn() -> None:
    queue = WriterQueue(wait_seconds=5)
    assert await queue.enter()  # a writer stuck on a leader that is gone
    waiting = asyncio.create_task(queue.enter())
    await asyncio.sleep(0.01)

    queue.database_failed()

    async with asyncio.timeout(1):
        assert await waiting is False
    assert await queue.enter() is False  # later writers too, until a commit


async def test_a_commit_after_a_failure_makes_writers_queue_again() -> None:
    queue = WriterQueue(wait_seconds=0.05)
    queue.database_failed()
    queue.committed()

    assert await queue.enter() is True
    with pytest.raises(StoreUnavailable):
        await queue.enter()


def test_a_write_refused_for_disk_space_is_remembered_until_one_commits_or_time_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # as the queue reads it
    queue = WriterQueue()

    queue.database_failed()  # a lost leader, say: nothing to say of the disk
    assert not queue.disk_full
    queue.database_failed(disk_full=True)
    assert queue.disk_full
    queue.committed()
    assert not queue.disk_full

    queue.database_failed(disk_full=True)
    now[0] += writers.FULL_DISK_REPORT_SECONDS  # no write since: /ready must not stay at 503
    assert not queue.disk_full


async def test_a_sibling_write_lock_admits_one_worker_at_a_time_and_passes_to_the_one_waiting(
    tmp_path: Path,
) -> None:
    """Each worker's lock on one file has its own descriptor, as after fork."""
    holder, waiter, third = (SiblingWriteLock(tmp_path / "todos.lock") for _ in range(3))
    await holder.acquire()
    waiting = asyncio.create_task(waiter.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()

    holder.release()
    await asyncio.wait_for(waiting, 5)
    blocked = asyncio.create_task(third.acquire())
    await asyncio.sleep(0.05)
    assert not blocked.done()
    waiter.release()
    await asyncio.wait_for(blocked, 5)
    third.release()


async def test_a_worker_that_gives_up_waiting_for_the_sibling_lock_does_not_keep_it(
    tmp_path: Path,
) -> None:
    holder, quitter, later = (SiblingWriteLock(tmp_path / "todos.lock") for _ in range(3))
    await holder.acquire()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(quitter.acquire(), 0.05)
    holder.release()

    await asyncio.wait_for(later.acquire(), 5)  # the quitter's thread took it and let go
    later.release()


async def test_a_worker_s_next_wait_takes_over_the_one_it_gave_up_and_keeps_the_lock(
    tmp_path: Path,
) -> None:
    """Its waits share one descriptor: had the given-up wait let go once its thread took the
    lock, it would have freed the lock under the next wait."""
    sibling, worker, third = (SiblingWriteLock(tmp_path / "todos.lock") for _ in range(3))
    await sibling.acquire()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(worker.acquire(), 0.05)
    next_wait = asyncio.create_task(worker.acquire())
    await asyncio.sleep(0.05)
    sibling.release()
    await asyncio.wait_for(next_wait, 5)
    await asyncio.sleep(0.05)  # the given-up wait's thread has returned by now

    blocked = asyncio.create_task(third.acquire())
    await asyncio.sleep(0.05)
    assert not blocked.done()
    worker.release()
    await asyncio.wait_for(blocked, 5)
    third.release()


def test_a_worker_waiting_for_the_sibling_lock_can_still_exit(tmp_path: Path) -> None:
    """The waiting thread is a daemon: a worker told to stop while its sibling holds the lock
    (frozen, say) exits instead of waiting for it forever."""
    waits_forever = f"""
import asyncio
from pathlib import Path
from adapters.dqlite.writers import SiblingWriteLock

async def main():
    path = Path({str(tmp_path / "todos.lock")!r})
    await SiblingWriteLock(path).acquire()  # the sibling, which never lets go
    try:
        await asyncio.wait_for(SiblingWriteLock(path).acquire(), 0.1)
    except TimeoutError:
        print("gave up waiting")

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", waits_forever], capture_output=True, text=True, timeout=20
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "gave up waiting\n"
