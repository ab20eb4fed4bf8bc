"""The dqlite store's probes: /ready and /metrics ask the cluster about once a second, and
/ready answers for every bounded context's database; a silent leader is given up on quickly."""

import socket
import time
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from adapters.contexts import CONTEXTS
from adapters.dqlite import database as database_module
from adapters.dqlite.leader import ClusterView
from adapters.dqlite.migrations import upgrade_to_head
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import PROBE_SECONDS
from tests.dqlite import fresh_store


async def test_a_flood_of_readiness_and_status_probes_asks_the_cluster_once_a_second(
    dqlite_node: DqliteNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_store(dqlite_node) as store:
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


async def test_readiness_checks_each_context_s_database_and_its_schema_at_head(
    dqlite_node: DqliteNode,
) -> None:
    async with fresh_store(dqlite_node, migrate=True) as store:
        readiness = await store.readiness()

    per_context = [
        check
        for context in CONTEXTS
        for check in (f"{context.name} database", f"{context.name} schema")
    ]
    assert list(readiness.checks) == ["node", "writes", "leader", *per_context]
    assert readiness.ready, readiness.checks
    assert set(readiness.checks.values()) == {"ok"}


async def test_a_start_up_migration_whose_commit_answer_is_lost_is_run_again_and_ends_at_head(
    dqlite_node: DqliteNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when leadership moves during the migration's COMMIT: it landed, the answer did not."""
    upgrades: list[str] = []

    def upgrade_then_lose_the_answer(url: str, context: str, dial: object) -> None:
        upgrade_to_head(url, context, dial)  # type: ignore[arg-type]
        upgrades.append(context)
        if upgrades.count(context) == 1:
            raise OperationalError("COMMIT", {}, Exception("leadership lost during COMMIT"))

    monkeypatch.setattr(database_module, "upgrade_to_head", upgrade_then_lose_the_answer)
    async with fresh_store(dqlite_node, migrate=True) as store:
        readiness = await store.readiness()

    assert sorted(upgrades) == sorted(2 * [context.name for context in CONTEXTS])
    assert readiness.ready, readiness.checks


async def test_a_context_s_database_behind_its_history_is_not_ready_and_the_others_are(
    dqlite_node: DqliteNode,
) -> None:
    """Each context's schema is checked against its own history: one behind is named, alone."""
    async with fresh_store(dqlite_node, migrate=True) as store:
        behind = CONTEXTS[0]
        async with store.databases[behind.unit_of_work].engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        readiness = await store.readiness()

    assert not readiness.ready
    assert readiness.checks[f"{behind.name} schema"] == "at older, not head"
    assert all(readiness.checks[f"{c.name} schema"] == "ok" for c in CONTEXTS[1:])
    assert all(readiness.checks[f"{c.name} database"] == "ok" for c in CONTEXTS)


async def test_a_new_connection_to_a_leader_that_accepts_but_never_answers_gives_up_quickly(
    dqlite_node: DqliteNode,
) -> None:
    """As a paused (SIGSTOP) leader does: the kernel accepts, nothing answers. The driver tried
    three times with the 2 s statement timeout per step, 15 s in all, which stalled writes
    past a whole election in the fault test; now each step has 0.5 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        async with fresh_store(dqlite_node) as store:
            store.tracker.learn([address])
            store.tracker.leader = address
            engine = store.databases[CONTEXTS[0].unit_of_work].engine
            await engine.dispose()
            started = time.monotonic()
            with pytest.raises(OperationalError, match="Failed to connect"):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            gave_up_after = time.monotonic() - started

    assert gave_up_after < 5.0  # 1.8 s here, against 15.3 s with the statement timeout
