"""A set workload over HTTP, as canonical/jepsen.dqlite runs one: clients add unique elements
(here ledger accounts, the element as owner), one client per API node sending only to it, each
element sent once; at the end every node's whole set is read back. Since each node has a
client of its own, the adds also show when each node took writes and when it could not.

Each add ends acknowledged (201: it must be in the set, once), refused (503 with Retry-After
and no unknown outcome, or no connection at all: it must not be in the set), or unknown (a
lost answer: it may be there, once at most).
"""

import random
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from tests.integration.bank_workload import HTTP_TIMEOUT_SECONDS, MAX_PAGES

PAUSE_SECONDS = 0.02
ADD_TIMEOUT_SECONDS = 3.0  # a client of a cut-off node gives up and tries again soon
PAGE_ROWS = 1000


@dataclass(frozen=True)
class Add:
    element: str
    node: str
    outcome: str  # acknowledged, refused or unknown
    answered_at: float  # time.time()
    account_id: int | None = None


class SetWorkload:
    def __init__(self, nodes: list[str], *, seed: int) -> None:
        self.nodes = list(nodes)
        self.seed = seed
        self.adds: list[Add] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="set-worker")
        self._futures: list[Future[None]] = []

    def start(self) -> None:
        self._futures = [self._pool.submit(self._work, n) for n in range(len(self.nodes))]

    def stop(self, timeout: float) -> None:
        self._stop.set()
        try:
            for future in self._futures:
                future.result(timeout=timeout)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def acknowledged_at(self, node: str | None = None) -> list[float]:
        """When adds were acknowledged (through `node`, or any), in order."""
        with self._lock:
            adds = list(self.adds)
        return sorted(
            a.answered_at for a in adds if a.outcome == "acknowledged" and node in (None, a.node)
        )

    def _work(self, worker: int) -> None:
        node = self.nodes[worker]
        tag = f"{self.seed}-{worker}-{random.randrange(16**6):06x}"
        with httpx.Client(timeout=ADD_TIMEOUT_SECONDS, trust_env=False) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                add = add_element(client, node, f"set-{tag}-{n}")
                with self._lock:
                    self.adds.append(add)
                time.sleep(PAUSE_SECONDS)


def add_element(client: httpx.Client, node: str, element: str) -> Add:
    body = {"owner": element, "balance_cents": 0}
    try:
        response = client.post(f"{node}/ledger/accounts", json=body)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
        return Add(element, node, "refused", time.time())
    except httpx.TransportError:
        return Add(element, node, "unknown", time.time())
    if response.status_code == 201:
        return Add(element, node, "acknowledged", time.time(), int(response.json()["id"]))
    refused = response.status_code == 503 and "Retry-After" in response.headers
    if refused and response.json().get("outcome") != "unknown":
        return Add(element, node, "refused", time.time())
    return Add(element, node, "unknown", time.time())


def read_set(node: str) -> Counter[str]:
    """How many times each element is in the set, as `node` serves it."""
    owners: Counter[str] = Counter()
    with httpx.Client(base_url=node, timeout=HTTP_TIMEOUT_SECONDS, trust_env=False) as client:
        for page in range(MAX_PAGES):
            params = {"limit": PAGE_ROWS, "offset": page * PAGE_ROWS}
            response = client.get("/ledger/accounts", params=params)
            response.raise_for_status()
            items = response.json()["items"]
            owners.update(item["owner"] for item in items if item["owner"].startswith("set-"))
            if len(items) < PAGE_ROWS:
                return owners
    raise AssertionError(f"{node} lists more than {MAX_PAGES} pages of accounts")


@dataclass(frozen=True)
class SetFigures:
    acknowledged: int
    refused: int
    unknown: int
    lost: list[str]  # acknowledged, missing on some node
    duplicated: list[str]  # present more than once on some node
    present_though_refused: list[str]
    unknown_present: int

    def line(self) -> str:
        return (
            f"set: acknowledged={self.acknowledged} refused={self.refused} unknown={self.unknown} "
            f"(present {self.unknown_present}) lost={len(self.lost)} "
            f"duplicated={len(self.duplicated)} present_though_refused="
            f"{len(self.present_though_refused)}"
        )


def set_figures(adds: list[Add], sets: list[Counter[str]]) -> SetFigures:
    outcome = {add.element: add.outcome for add in adds}
    counts = Counter(outcome.values())
    return SetFigures(
        acknowledged=counts["acknowledged"],
        refused=counts["refused"],
        unknown=counts["unknown"],
        lost=sorted(
            e for e, o in outcome.items() if o == "acknowledged" and any(not s[e] for s in sets)
        ),
        duplicated=sorted({e for s in sets for e, n in s.items() if n > 1}),
        present_though_refused=sorted(
            e for e, o in outcome.items() if o == "refused" and any(s[e] for s in sets)
        ),
        unknown_present=sum(1 for e, o in outcome.items() if o == "unknown" and sets[0][e]),
    )
