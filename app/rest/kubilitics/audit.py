"""Kubilitics: the audit log (seed 002, "Audit Log"), the tenant admin's: JSON entries, or with
`format=csv` the CSV export as a file.

Entries are Fleetgraph's audit rows in Kubilitics's words. The object an action touched is its
target: a Kubernetes object's cluster, kind, namespace and name are read from its target ID;
any other target (a user, a cluster, an API key) is given by its type and ID, with the cluster
the action names, if any. `status_code` is the status a REST call answered; an action not made
through REST has none of its own, so it reads 200 when the action succeeded and 400 when it was
refused. `details` is the action's recorded changes, as JSON. The document's `cluster_id`
filter is not offered: the audit log is not filtered by cluster."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.rest.rows import Attachment, Call, Data, Row
from app.rest.values import Timestamp

DOC = "audit.graphql"
TAG = "Kubilitics: audit"
KUBE = "k8s/"  # the target type of a Kubernetes object: k8s/<Kind>, its ID <cluster>/<Kind>/<namespace>/<name>


class AuditQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    userId: str | None = Field(None, alias="user_id", max_length=100)
    action: str | None = Field(None, max_length=200, description="exact, or with * as a wildcard")
    since: Timestamp | None = None
    until: Timestamp | None = None
    limit: int = Field(100, ge=1, le=100, description="at most 100")
    format: Literal["json", "csv"] = "json"


class KubiliticsAuditEntry(BaseModel):
    id: str
    timestamp: datetime
    user_id: str = Field(description="empty for an action nobody signed in made (a failed sign-in)")
    username: str
    cluster_id: str | None
    action: str
    resource_kind: str | None
    resource_namespace: str | None
    resource_name: str | None
    status_code: int
    request_ip: str
    details: str = Field(description="the recorded changes, as JSON")


AuditEntries = RootModel[list[KubiliticsAuditEntry]]


def _wire(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _variables(call: Call, _: Data) -> Data:
    assert isinstance(call.query, AuditQuery)
    q = call.query
    given = {"userId": q.userId, "action": q.action, "since": _wire(q.since), "until": _wire(q.until)}
    return {"filter": {k: v for k, v in given.items() if v}, "first": q.limit, "csv": q.format == "csv"}


def _target(entry: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """(cluster ID, kind, namespace, name) of what the action touched."""
    kind, target = entry["targetType"], entry["targetId"]
    if kind and kind.startswith(KUBE) and target and target.count("/") == 3:
        cluster, _, namespace, name = target.split("/")
        return cluster, kind.removeprefix(KUBE), namespace or None, name
    if kind == "cluster":
        return target, kind, None, target
    named = entry["changes"].get("clusterId") if isinstance(entry["changes"], dict) else None
    return (named if isinstance(named, str) else None), kind, None, target


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    cluster, kind, namespace, name = _target(entry)
    status = entry["httpStatus"]
    return {
        "id": entry["id"],
        "timestamp": entry["timestamp"],
        "user_id": entry["actorId"] or "",
        "username": entry["actorEmail"] or "",
        "cluster_id": cluster,
        "action": entry["action"],
        "resource_kind": kind,
        "resource_namespace": namespace,
        "resource_name": name,
        "status_code": status if status is not None else (200 if entry["success"] else 400),
        "request_ip": entry["request_ip"],
        "details": json.dumps(entry["changes"], sort_keys=True, default=str) if entry["changes"] else "",
    }


def _entries(value: list[dict[str, Any]], _: Call) -> list[dict[str, Any]]:
    return [_entry(entry) for entry in value]


def _wants_csv(call: Call) -> bool:
    return isinstance(call.query, AuditQuery) and call.query.format == "csv"


CSV = Attachment("text/csv", lambda _call, _data: "audit-log.csv", when=_wants_csv, pick="exportAuditLogs")

ROWS = [
    Row(
        "GET",
        "/api/v1/audit-log",
        DOC,
        ("KubiliticsAuditLog",),
        "List audit log entries",
        TAG,
        query=AuditQuery,
        variables=_variables,
        pick="auditLogs.nodes",
        shape=_entries,
        response=AuditEntries,
        attachment=CSV,
    ),
]
