"""The dqlite store's probes: /ready and /metrics ask the cluster about once a second."""

import time
from collections import Counter

import pytest

from adapters.dqlite.leader import ClusterView
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import PROBE_SECONDS
from tests.dqlite import fresh_database, store_on


async def test_a_flood_of_readiness_and_status_probes_asks_the_cluster_once_a_second(
    dqlite_node: DqliteNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_database(dqlite_node) as engine, store_on(dqlite_node, engine) as store:
        asked: Counter[str] = Counter()
        refresh, view = store.tracker.refresh, store.tracker.view

        async def counted_refresh() -> str | None:
            asked["leader"] += 1
            return await refresh()

        async def counted_view() -> ClusterView:
            asked["view"] += 1
            return await view()

        monkeypatch.setattr(store.tracker, "refresh", counted_refresh)
        monkeypatch.setattr(store.tracker, "view", counted_view)
        started = time.monotonic()
        for _ in range(300):
            assert (await store.readiness()).checks["leader"] == "ok"
            assert (await store.status()).leader_id == 1
        elapsed = time.monotonic() - started

    bound = elapsed / PROBE_SECONDS + 1
    assert 1 <= asked["leader"] <= bound, (asked, elapsed)
    assert 1 <= asked["view"] <= bound, (asked, elapsed)
