"""CKS's observability: a cluster's usage, and a cluster's or a namespace's Kubernetes events.

Fleetgraph reads usage now (metrics.k8s.io, `Cluster.metrics`) and keeps no history of it, so the
`cpu` and `memory` series hold one point, read when the request is answered, whatever `range` and
`step` ask for. A namespace's `{id}` is `<cluster ID>~<name>` (app/rest/values.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from app.rest.rows import Call, Data, Listing, Row
from app.rest.values import parse_namespace_id

DOC = "observability.graphql"
TAG = "CKS: observability"
DURATION = r"^[1-9][0-9]{0,6}[smhd]$"


class MetricsWindow(BaseModel):
    """Accepted as documented; the answer is the usage now (see the module's docstring)."""

    range: str | None = Field(None, pattern=DURATION, description="A duration: 1h, 24h, 7d")
    step: str | None = Field(None, pattern=DURATION, description="A duration: 30s, 1m, 5m")


def _metrics(value: Data, _: Call) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "cpu": [{"timestamp": now, "value": value["cpuCores"], "unit": "cores"}],
        "memory": [{"timestamp": now, "value": value["memoryBytes"], "unit": "bytes"}],
        "capacity": {"cpu": value["cpuCapacity"], "memory": value["memoryCapacity"]},
    }


def _event(value: Data, _: Call) -> dict[str, Any]:
    """A Kubernetes event (core/v1) as CKS's `{id, type, message, timestamp}`: its last time, or
    its time for events that only have `eventTime`, or when it was recorded."""
    raw = value.get("raw") or {}
    involved = raw.get("involvedObject") or raw.get("regarding") or {}
    when = raw.get("lastTimestamp") or raw.get("eventTime") or raw.get("firstTimestamp") or value.get("createdAt")
    return {
        "id": value["uid"],
        "type": raw.get("type") or "",
        "reason": raw.get("reason") or "",
        "message": raw.get("message") or raw.get("note") or "",
        "timestamp": when or "",
        "count": raw.get("count") or (raw.get("series") or {}).get("count") or 1,
        "namespace": value.get("namespace"),
        "object": {k: involved.get(k) for k in ("kind", "namespace", "name")},
    }


def _namespace(call: Call, _: Data) -> Data:
    cluster_id, namespace = parse_namespace_id(call.path["id"])
    return {"id": cluster_id, "namespace": namespace}


ROWS = [
    Row(
        "GET",
        "/api/tenants/{tenantId}/clusters/{id}/metrics",
        DOC,
        ("CksClusterMetrics",),
        "Cluster metrics (health, usage)",
        TAG,
        query=MetricsWindow,
        variables=lambda call, _: {"id": call.path["id"]},
        pick="cluster.metrics",
        shape=_metrics,
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/clusters/{id}/events",
        DOC,
        ("CksClusterEvents",),
        "Cluster events/history",
        TAG,
        variables=lambda call, _: {"id": call.path["id"]},
        pick="cluster.events",
        listing=Listing("events"),
        shape=_event,
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/namespaces/{id}/events",
        DOC,
        ("CksClusterEvents",),
        "Namespace events/history",
        TAG,
        variables=_namespace,
        pick="cluster.events",
        listing=Listing("events"),
        shape=_event,
    ),
]
