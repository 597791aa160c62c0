"""CKS's observability: a cluster's usage over time, PromQL, and a cluster's or a namespace's
Kubernetes events.

The `cpu` and `memory` series are the cluster's metrics history (`Cluster.metricsHistory`) over
`range` (1h by default) at `step`; capacity is the nodes' allocatable now. PromQL is answered by
`metricsQuery`, scoped to the tenant's clusters. A namespace's `{id}` is `<cluster ID>~<name>`
(app/rest/values.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.rest.rows import Call, Data, Listing, Row
from app.rest.values import parse_namespace_id

DOC = "observability.graphql"
TAG = "CKS: observability"
DURATION = r"^[1-9][0-9]{0,6}[smhd]$"


class MetricsWindow(BaseModel):
    range: str = Field("1h", pattern=DURATION, description="A duration: 1h, 24h, 7d")
    step: str | None = Field(None, pattern=DURATION, description="A duration: 30s, 1m, 5m")


class MetricsQuery(BaseModel):
    query: str = Field(min_length=1, max_length=4000, description="PromQL")
    start: datetime | None = Field(None, description="ISO 8601; without it, an instant query (now)")
    end: datetime | None = None
    step: str | None = Field(None, pattern=DURATION, description="A duration: 15s, 60s, 5m")


def _metrics(value: Data, _: Call) -> dict[str, Any]:
    history, now = value["metricsHistory"] or {}, value["metrics"] or {}

    def series(name: str, unit: str) -> list[dict[str, Any]]:
        return [{"timestamp": p["timestamp"], "value": p["value"], "unit": unit} for p in history.get(name) or []]

    return {
        "cpu": series("cpu", "cores"),
        "memory": series("memory", "bytes"),
        "capacity": {"cpu": now.get("cpuCapacity"), "memory": now.get("memoryCapacity")},
    }


def _window(call: Call, _: Data) -> Data:
    fields = call.fields()
    return {"id": call.path["id"], "range": fields.get("range", "1h"), "step": fields.get("step")}


def _promql(call: Call, _: Data) -> Data:
    fields = call.fields()
    moments = {k: fields[k].isoformat().replace("+00:00", "Z") for k in ("start", "end") if fields.get(k)}
    return {"tenantId": call.path["tenantId"], "query": fields["query"], "step": fields.get("step"), **moments}


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
        variables=_window,
        pick="cluster",
        shape=_metrics,
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/metrics/query",
        DOC,
        ("CksMetricsQuery",),
        "Query metrics (Prometheus/Grafana integration)",
        TAG,
        query=MetricsQuery,
        variables=_promql,
        pick="metricsQuery",
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
