"""One trace on dqlite, across two app processes' worth of apps: a POST /users served by one app
stores UserRegistered with the request's trace context; another app's relay delivers it, and
the welcome todo its handler makes belongs to the same trace, under the unit of work that
stored the event. Statements are spans of their units of work; a unit of work that committed
in a group links to the group's COMMIT, which links back."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import httpx
from dependency_injector import providers
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from adapters.dqlite.node import DqliteNode
from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.signing_in import signed_up


@asynccontextmanager
async def app_on(
    node: DqliteNode, prefix: str, keys: Path, *, relays: bool
) -> AsyncIterator[tuple[httpx.AsyncClient, InMemorySpanExporter]]:
    """An app of the node's databases under `prefix` (as another process would be), with its
    own spans; `relays`: whether it delivers the outboxes."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    container = Container()
    settings = Settings(
        embedded_node=False,
        node_address=node.address,
        database_prefix=prefix,
        outbox_relay=relays,
        auth_key_dir=keys,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
    )
    container.settings.override(providers.Object(settings))
    container.tracer_provider.override(providers.Object(provider))
    app = create_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client, spans


def one(spans: InMemorySpanExporter, name: str, parent: ReadableSpan | None = None) -> ReadableSpan:
    found = [
        span
        for span in spans.get_finished_spans()
        if span.name == name and (parent is None or parent_of(span) == parent.context.span_id)
    ]
    assert len(found) == 1, (name, [span.name for span in spans.get_finished_spans()])
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def attribute(span: ReadableSpan, name: str) -> object:
    return (span.attributes or {}).get(name)


def children(spans: InMemorySpanExporter, parent: ReadableSpan) -> list[str]:
    return sorted(
        s.name for s in spans.get_finished_spans() if parent_of(s) == parent.context.span_id
    )


async def handled(spans: InMemorySpanExporter, name: str) -> None:
    for _ in range(200):
        if any(span.name == name for span in spans.get_finished_spans()):
            await asyncio.sleep(0.1)  # the delivery's own span ends after its handler's
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {name!r} in {[s.name for s in spans.get_finished_spans()]}")


async def test_a_user_s_welcome_todo_is_made_in_the_trace_of_the_request_that_registered_them(
    dqlite_node: DqliteNode, tmp_path: Path
) -> None:
    prefix = f"test_{uuid.uuid4().hex}_"
    async with (
        app_on(dqlite_node, prefix, tmp_path, relays=False) as (serving, served),
        app_on(dqlite_node, prefix, tmp_path, relays=True) as (_, relayed),
    ):
        serving.headers.update(await signed_up(serving, "ada@example.org"))
        served.clear()
        created = await serving.post("/users", json={"name": "Ada", "email": "ada@example.org"})
        assert created.status_code == 201
        await handled(relayed, "handle welcome_new_user")

    request = one(served, "POST /users")
    use_case = one(served, "register_user", parent=request)
    stored_in = one(served, "unit of work BlogUnitOfWork", parent=use_case)
    assert request.kind is SpanKind.SERVER
    assert "INSERT" in " ".join(children(served, stored_in))  # the user's row and its event

    delivery = one(relayed, "outbox deliver UserRegistered")
    handler = one(relayed, "handle welcome_new_user", parent=delivery)
    welcome = one(relayed, "unit of work TodosUnitOfWork", parent=handler)
    assert delivery.context.trace_id == request.context.trace_id
    assert parent_of(delivery) == stored_in.context.span_id
    assert handler.context.trace_id == welcome.context.trace_id == request.context.trace_id
    statements = [
        s for s in relayed.get_finished_spans() if parent_of(s) == welcome.context.span_id
    ]
    assert {s.kind for s in statements} == {SpanKind.CLIENT}
    assert any(
        str(attribute(s, "db.statement")).startswith("INSERT INTO todos") for s in statements
    )


async def test_a_unit_of_work_committed_in_a_group_links_to_the_group_s_commit(
    dqlite_node: DqliteNode, tmp_path: Path
) -> None:
    prefix = f"test_{uuid.uuid4().hex}_"
    async with app_on(dqlite_node, prefix, tmp_path, relays=False) as (client, spans):
        client.headers.update(await signed_up(client, "bo@example.org"))
        spans.clear()
        answers = await asyncio.gather(
            *(client.post("/todos", json={"key": f"k{n}", "value": "v"}) for n in range(8)),
        )
        assert {answer.status_code for answer in answers} == {201}

    commits = [s for s in spans.get_finished_spans() if s.name == "group commit"]
    members = [s for s in spans.get_finished_spans() if s.name == "unit of work TodosUnitOfWork"]
    assert len(members) == 8
    assert all(commit.parent is None for commit in commits)  # a batch is no one request's
    by_id = {commit.context.span_id: commit for commit in commits}
    for member in members:
        (link,) = [link for link in member.links if link.context.span_id in by_id]
        commit = by_id[link.context.span_id]
        assert member.context.span_id in {linked.context.span_id for linked in commit.links}
        batch = attribute(commit, "db.group_commit.members")
        assert attribute(member, "db.group_commit.members") == batch
    assert sum(cast(int, attribute(commit, "db.group_commit.members")) for commit in commits) == 8
