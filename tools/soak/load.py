"""A steady write load through the API: POST, PATCH and DELETE of todos in turn at a fixed
rate, whether or not the previous requests have been answered (an open loop), keeping about
`live` todos so that the database stays the same size."""

import asyncio
import itertools
import random
import time
from collections import Counter, deque

import httpx

EMAIL, PASSWORD = "soak@example.org", "the soak signs in with this"
MAX_IN_FLIGHT = 64  # beyond this the app is not keeping up: requests are skipped and counted


class SteadyWrites:
    def __init__(self, url: str, rate: float, live: int) -> None:
        self.url, self.rate, self.live = url, rate, live
        self.keys: deque[str] = deque()
        self.numbers = itertools.count()
        self.statuses: Counter[str] = Counter()
        self.latencies_ms: list[float] = []  # since the last take_interval()
        self._authorization = ""
        self._in_flight: set[asyncio.Task[None]] = set()

    def take_interval(self) -> tuple[Counter[str], list[float]]:
        """The statuses and latencies since the last call."""
        statuses, latencies = self.statuses, self.latencies_ms
        self.statuses, self.latencies_ms = Counter(), []
        return statuses, latencies

    async def sign_in(self, client: httpx.AsyncClient) -> None:
        account = {"email": EMAIL, "password": PASSWORD}
        await client.post(f"{self.url}/auth/register", json=account)  # 409 if already there
        form = {"username": EMAIL, "password": PASSWORD}
        answer = await client.post(f"{self.url}/auth/token", data=form)
        answer.raise_for_status()
        self._authorization = f"Bearer {answer.json()['access_token']}"

    async def run(self, seconds: float) -> None:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16)) as http:
            await self.sign_in(http)
            started = time.monotonic()
            for tick in itertools.count():
                due = started + tick / self.rate
                if due >= started + seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if len(self._in_flight) >= MAX_IN_FLIGHT:
                    self.statuses["skipped"] += 1
                    continue
                task = asyncio.create_task(self._request(http, tick % 3))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            await asyncio.gather(*self._in_flight)

    async def _request(self, http: httpx.AsyncClient, turn: int) -> None:
        if turn == 1 and self.keys:
            method, key = "PATCH", random.choice(self.keys)
            body: dict[str, object] | None = {"done": random.random() < 0.5}
        elif turn == 2 and len(self.keys) > self.live:
            method, key, body = "DELETE", self.keys.popleft(), None
        else:
            method, key = "POST", f"soak-{next(self.numbers)}"
            body = {"key": key, "value": "a todo the soak writes, patches and deletes"}
        path = "/todos" if method == "POST" else f"/todos/{key}"
        started = time.perf_counter()
        try:
            answer = await http.request(
                method,
                self.url + path,
                json=body,
                headers={"Authorization": self._authorization},
            )
        except httpx.HTTPError as error:
            self.statuses[type(error).__name__] += 1
            return
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        self.statuses[f"{method} {answer.status_code}"] += 1
        if method == "POST" and answer.status_code == 201:
            self.keys.append(key)
        elif answer.status_code == 401:  # the token expired: sign in again
            await self.sign_in(http)
