"""/health, /ready and /metrics on the in-memory container."""

import httpx
from fastapi import FastAPI

from service.operations import Readiness, StoreStatus
from tests.unit.probe_routes import PROBE


async def test_the_in_memory_store_is_always_ready_with_a_line_per_context(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get("/ready")

    contexts = app.state.container.contexts()
    assert PROBE in contexts
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {f"{context.name} database": "ok" for context in contexts},
    }


async def test_a_store_that_is_not_ready_makes_ready_answer_503_with_the_reasons(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    class NoLeader:
        async def readiness(self) -> Readiness:
            return Readiness(False, {"leader": "no leader known", "node": "ok"})

        async def status(self) -> StoreStatus:
            return StoreStatus()

    app.state.store = NoLeader()

    response = await client.get("/ready")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["checks"]["leader"] == "no leader known"


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/probe")
    await client.get("/probe/a")
    await client.get("/probe/b")
    await client.get("/probe/taken")

    text = (await client.get("/metrics")).text

    assert 'http_requests_total{method="POST",route="/probe",status="201"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/probe/{name}",status="200"} 2.0' in text
    assert 'http_requests_total{method="GET",route="/probe/{name}",status="409"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/probe/{name}"} 3.0' in text


async def test_made_up_methods_share_one_metrics_label_so_metrics_stay_small(
    client: httpx.AsyncClient,
) -> None:
    for n in range(50):
        await client.request(f"MADEUP{n}" + "X" * 1000, "/probe/a")

    text = (await client.get("/metrics")).text

    assert "MADEUP" not in text
    assert 'http_requests_total{method="other",route="/probe/{name}",status="405"} 50.0' in text
    assert len(text) < 20_000


async def test_metrics_show_the_store_and_the_retry_counters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    class Leading:
        async def readiness(self) -> Readiness:
            return Readiness(True, {})

        async def status(self) -> StoreStatus:
            return StoreStatus(
                node_id=2, role="voter", leader_id=2, pool_size=10, connections_in_use=3
            )

    app.state.store = Leading()
    app.state.container.retry_counters().retries = 7

    text = (await client.get("/metrics")).text

    assert "dqlite_leader_id 2.0" in text
    assert 'dqlite_node_role{role="voter"} 1.0' in text
    assert 'dqlite_node_role{role="spare"} 0.0' in text
    assert "db_connections_in_use 3.0" in text
    assert "use_case_retries_total 7.0" in text
    assert "use_case_unknown_outcomes_total 0.0" in text


async def test_head_on_health_and_ready_answers_like_get_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/health", "/ready"):
        response = await client.head(path)
        assert (response.status_code, response.content) == (200, b"")


async def test_a_method_a_path_does_not_take_is_a_405_naming_every_method_it_does(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put("/probe")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "POST"
    assert set((await client.delete("/probe/a")).headers["allow"].split(", ")) == {"GET"}
