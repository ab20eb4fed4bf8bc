"""/health, /ready and /metrics: for load balancers, orchestrators and Prometheus."""

import asyncio

from fastapi import APIRouter, Depends, Response, status
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from entrypoints.dependencies import MetricsDep, RelaysDep, StoreDep, metrics_reader
from entrypoints.problems import PROTECTED_OPERATION
from service.errors import StoreUnavailable
from service.outbox import OutboxCounts

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class ReadinessOut(BaseModel):
    ready: bool
    checks: dict[str, str]


# HEAD answers as GET does, without a body; it stays out of the document (one operation each).
@router.head("/health", include_in_schema=False)
@router.get("/health")
async def health() -> Health:
    """The process is up and serving HTTP."""
    return Health(status="ok")


@router.head("/ready", include_in_schema=False)
@router.get("/ready", responses={503: {"model": ReadinessOut}})
async def ready(store: StoreDep, response: Response) -> ReadinessOut:
    """Node running with room for its log, writes not refused for a full disk, leader known,
    and for each bounded context a round trip to its database and its schema at head; 503
    otherwise."""
    readiness = await store.readiness()
    if not readiness.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "1"
    return ReadinessOut(ready=readiness.ready, checks=readiness.checks)


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(metrics_reader)],
    responses=PROTECTED_OPERATION,
)
async def metrics(store: StoreDep, relays: RelaysDep, registry: MetricsDep) -> Response:
    """Prometheus text format; open unless APP_METRICS_ROLE names a role to require."""
    status = await store.status()
    outboxes: dict[str, OutboxCounts | None] = {}
    for relay in relays:
        try:
            outboxes[relay.context] = await relay.counts()
        except StoreUnavailable:
            outboxes[relay.context] = None
    # Rendered in a worker thread: a large registry must not hold up other requests.
    body = await asyncio.to_thread(registry.render, status, outboxes)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
