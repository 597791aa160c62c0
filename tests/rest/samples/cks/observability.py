"""CKS observability samples (seed 001: a cluster's metrics, PromQL, a cluster's and a namespace's events),
on the world's cluster and its `shop` namespace."""

from __future__ import annotations

from app.rest.values import namespace_id
from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World

CLUSTER = "/api/tenants/{tenantId}/clusters/{id}"


@sample()
async def cluster_metrics(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": world.cluster_id}, query={"range": "1h", "step": "1m"})


@sample()
async def cluster_events(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": world.cluster_id}, query={"page": 1, "pageSize": 20})


@sample()
async def namespace_events(world: World) -> Request:
    path = {"tenantId": world.tenant.id, "id": namespace_id(world.cluster_id, NAMESPACE)}
    return Request(path=path, query={"page": 1, "pageSize": 20})


@sample()
async def metrics_query(world: World) -> Request:
    query = {
        "query": 'sum(rate(container_cpu_usage_seconds_total{namespace="shop"}[5m]))',
        "start": "2025-01-29T09:00:00Z",
        "end": "2025-01-29T10:00:00Z",
        "step": "60s",
    }
    return Request(path={"tenantId": world.tenant.id}, query=query)


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/tenants/{tenantId}/metrics/query"): metrics_query,
    ("GET", f"{CLUSTER}/metrics"): cluster_metrics,
    ("GET", f"{CLUSTER}/events"): cluster_events,
    ("GET", "/api/tenants/{tenantId}/namespaces/{id}/events"): namespace_events,
}
