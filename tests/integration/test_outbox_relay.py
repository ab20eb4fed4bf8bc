"""kill -9 of the app that relays domain events, in the middle of a stream of them.

Three app processes register users through every node; each registration stores a
UserRegistered event with the user, in the blog context's database (its outbox), and the blog
context's relay (the holder of its lease among the apps) has the todos context make a welcome
todo for each, in the todos context's database. About two seconds in, the holder is killed; it
is started again later. Another app must take the lease and deliver the rest: at the end every
stored user has exactly one welcome todo, including those whose event the killed app had
handled but not yet marked delivered (the handler is idempotent).
"""

import re
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.cluster import running_cluster
from tests.integration.process import AppProcess, http_client
from tests.measurements import measured

STREAM_SECONDS = 7.0
KILL_AFTER_SECONDS = 2.0
DRAIN_WITHIN_SECONDS = 30.0
PAGE = 1000
RELAYING = "blog"  # the context whose outbox holds UserRegistered, and whose relay is killed


def metric(app: AppProcess, name: str, context: str = RELAYING) -> float | None:
    """The value of `name` for `context` (the outbox figures have one series per context)."""
    try:
        with http_client(app, timeout=2) as client:
            text = client.get("/metrics").text
    except httpx.HTTPError:
        return None
    series = re.escape(f'{name}{{context="{context}"}}')
    found = re.search(rf"^{series} (\S+)$", text, re.MULTILINE)
    return None if found is None else float(found.group(1))


def lease_holder(apps: list[AppProcess], within: float = 15) -> AppProcess:
    """The app that holds the lease of the blog context's relay (each context's relay has
    a lease of its own, which another app may hold)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for app in apps:
            if app.running and metric(app, "outbox_relay_holding") == 1.0:
                return app
        time.sleep(0.2)
    raise AssertionError(f"no app took the lease of the {RELAYING} context's relay")


def every_id(app: AppProcess, path: str, key: str, **params: str) -> list[str]:
    """The `key` of every item of the list at `path`, page after page (each from the `next` of
    the one before: a page with a substring filter may hold fewer items while more follow)."""
    found: list[str] = []
    window: dict[str, str | int] = {**params, "limit": PAGE}
    with http_client(app) as client:
        while True:
            answer = client.get(path, params=window)
            answer.raise_for_status()
            page = answer.json()
            found += [str(item[key]) for item in page["items"]]
            if page["next"] is None:
                return found
            window = {**window, "after": page["next"]}


class Registrations:
    """One client per app, registering users until stopped; acknowledged ids kept."""

    def __init__(self, apps: list[AppProcess]) -> None:
        self.acknowledged: list[int] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._register, args=(app,)) for app in apps]

    def __enter__(self) -> "Registrations":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _register(self, app: AppProcess) -> None:
        with http_client(app, timeout=10) as client:
            while not self._stop.is_set():
                email = f"u{uuid.uuid4().hex[:12]}@example.org"
                try:
                    answer = client.post("/users", json={"name": "Streamed", "email": email})
                except httpx.HTTPError:  # the app was killed, or is starting again
                    time.sleep(0.2)
                    continue
                if answer.status_code == 201:
                    self.acknowledged.append(answer.json()["id"])


def test_after_kill_9_of_the_relaying_app_every_event_is_delivered_and_applied_once(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path) as cluster:
        apps = list(cluster.apps.values())
        holder = lease_holder(apps)
        with Registrations(apps) as registrations:
            time.sleep(KILL_AFTER_SECONDS)
            holder.stop(signal.SIGKILL)
            killed_at = time.monotonic()
            successor = lease_holder([app for app in apps if app is not holder])
            taken_over = time.monotonic() - killed_at
            time.sleep(max(0.0, STREAM_SECONDS - KILL_AFTER_SECONDS - taken_over))
        holder.start()
        drained = wait_until_drained(successor)
        users = set(every_id(successor, "/users", "id"))
        welcomes = every_id(successor, "/todos", "key", key_contains="welcome-user-")
        delivered_after = metric(successor, "outbox_delivered_total")

    line = (
        f"{RELAYING} relay killed: users acknowledged={len(registrations.acknowledged)} "
        f"stored={len(users)} welcome todos={len(welcomes)} "
        f"lease taken over {taken_over:.2f}s after the kill; outbox drained {drained:.2f}s "
        f"after the restart; events delivered by the successor={delivered_after:.0f}"
    )
    print(f"\n  {line}")
    measured(line)
    assert {str(id) for id in registrations.acknowledged} <= users
    assert len(welcomes) == len(set(welcomes))  # each effect once
    assert set(welcomes) == {f"welcome-user-{id}" for id in users}  # every event delivered


def wait_until_drained(app: AppProcess) -> float:
    started = time.monotonic()
    while time.monotonic() - started < DRAIN_WITHIN_SECONDS:
        if metric(app, "outbox_events_pending") == 0.0:
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"events were still pending {DRAIN_WITHIN_SECONDS:.0f}s after the restart")
