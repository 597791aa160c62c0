"""CKS's logs: a cluster's and a workload's (the newest `tail` lines since `since`, a duration such
as `15m`), a search across the tenant's clusters, and one entry by its ID (resolvers/logs.py says
how far a read reaches). A workload's `{id}` is `<cluster ID>~<kind>~<namespace>~<name>` and a
`namespaceId` is `<cluster ID>~<name>` (app/rest/values.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.rest.rows import Call, Data, Listing, Row
from app.rest.values import Timestamp, UnknownId, parse_namespace_id, parse_workload_id

DOC = "logs.graphql"
TAG = "CKS: logs"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RecentLogs(BaseModel):
    since: str | None = Field(None, pattern=r"^[1-9][0-9]{0,6}[smhd]$", description="A duration: 30s, 15m, 1h, 7d")
    tail: int | None = Field(None, ge=1, le=1000)


class LogSearch(BaseModel):
    clusterId: str | None = Field(None, max_length=100)
    namespaceId: str | None = Field(None, max_length=400)
    since: Timestamp | None = None
    until: Timestamp | None = None
    severity: str | None = Field(None, max_length=20)
    text: str | None = Field(None, max_length=200)


def _window(call: Call) -> Data:
    assert isinstance(call.query, RecentLogs)
    since, tail = call.query.since, call.query.tail
    found: Data = {} if tail is None else {"tail": tail}
    if since is not None:
        found["sinceSeconds"] = int(since[:-1]) * UNITS[since[-1]]
    return found


def _cluster(call: Call, _: Data) -> Data:
    return {"id": call.path["id"], **_window(call)}


def _workload(call: Call, _: Data) -> Data:
    cluster_id, kind, namespace, name = parse_workload_id(call.path["id"])
    return {"clusterId": cluster_id, "namespace": namespace, "workload": f"{kind}/{name}", **_window(call)}


def _search(call: Call, _: Data) -> Data:
    """A namespace ID names its cluster too; a `clusterId` beside it must be the same one."""
    assert isinstance(call.query, LogSearch)
    found = {k: v for k, v in call.fields().items() if k not in ("namespaceId", "since", "until")}
    for name in ("since", "until"):
        moment = getattr(call.query, name)
        if moment is not None:
            found[name] = moment.isoformat()
    if call.query.namespaceId is not None:
        cluster_id, namespace = parse_namespace_id(call.query.namespaceId)
        if call.query.clusterId not in (None, cluster_id):
            raise UnknownId(f"namespace {call.query.namespaceId!r} not found in cluster {call.query.clusterId!r}")
        found |= {"clusterId": cluster_id, "namespace": namespace}
    return found


ROWS = [
    Row(
        "GET",
        "/api/tenants/{tenantId}/clusters/{id}/logs",
        DOC,
        ("CksClusterLogs",),
        "Cluster logs",
        TAG,
        query=RecentLogs,
        variables=_cluster,
        pick="cluster.logEntries.entries",
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/workloads/{id}/logs",
        DOC,
        ("CksWorkloadLogs",),
        "Get workload logs",
        TAG,
        query=RecentLogs,
        variables=_workload,
        pick="cluster.logEntries.entries",
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/logs/search",
        DOC,
        ("CksLogSearch",),
        "Search logs (filters: cluster, namespace, time, severity, text)",
        TAG,
        query=LogSearch,
        variables=_search,
        pick="logSearch",
        listing=Listing("logs"),
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/logs/{id}",
        DOC,
        ("CksLogDetails",),
        "Get log details",
        TAG,
        variables=lambda call, _: {"id": call.path["id"]},
        pick="logEntry",
    ),
]
