"""CKS's monitoring: the tenant's system health (`{status, details}`, each check made now; see
resolvers/system_health.py for what each one measures), its alerts and their acknowledgement,
and its incidents.

CKS knows three alert statuses: `firing`, `acknowledged` (firing, and someone is on it) and
`resolved`. Alerts still pending (their rule holds, not yet for its `for`) are not listed: CKS
has no word for them, and GraphQL's `alerts(states: [PENDING])` lists them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.rest.rows import Call, Data, Listing, Row

DOC = "monitoring.graphql"
TAG = "CKS: monitoring"


class AlertFilter(BaseModel):
    severity: Literal["critical", "warning", "info"] | None = None
    status: Literal["firing", "acknowledged", "resolved"] | None = None


class Acknowledgement(BaseModel):
    note: str | None = Field(None, max_length=2000)


class IncidentFilter(BaseModel):
    status: Literal["open", "acknowledged", "resolved"] | None = None


def _alert_filter(call: Call, _: Data) -> Data:
    fields = call.fields()
    status = fields.get("status")
    states = {"firing": ["firing"], "acknowledged": ["firing"], "resolved": ["resolved"]}.get(status or "")
    return {
        "tenantId": call.path["tenantId"],
        "states": states or ["firing", "resolved"],
        "severity": fields.get("severity"),
        "acknowledged": {"firing": False, "acknowledged": True}.get(status or ""),
    }


def alert(value: Data, _: Call) -> dict[str, Any]:
    """A Fleetgraph alert as CKS's `Alert`: its summary is the message, its acknowledgement note the note."""
    status = value["state"]
    if status == "firing" and value.get("acknowledgedAt"):
        status = "acknowledged"
    return {
        "id": value["id"],
        "name": value["name"],
        "message": value["summary"],
        "severity": value["severity"],
        "status": status,
        "clusterId": value["clusterId"],
        "namespace": (value.get("object") or {}).get("namespace"),
        "firedAt": value.get("firedAt") or value["activeSince"],
        "resolvedAt": value.get("resolvedAt"),
        "acknowledgedAt": value.get("acknowledgedAt"),
        "acknowledgedBy": value.get("acknowledgedBy"),
        "note": value.get("acknowledgementNote") or None,
    }


def _incident(value: Data, _: Call) -> dict[str, Any]:
    return {
        "id": value["id"],
        "type": value["severity"],
        "status": value["status"],
        "message": value["title"],
        "createdAt": value["openedAt"],
        "clusterId": value["clusterId"],
        "namespace": value.get("namespace"),
    }


ROWS = [
    Row(
        "GET",
        "/api/tenants/{tenantId}/monitoring/health",
        DOC,
        ("CksSystemHealth",),
        "System health check",
        TAG,
        pick="systemHealth",
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/monitoring/alerts",
        DOC,
        ("CksAlerts",),
        "List active alerts (filter by severity, status)",
        TAG,
        query=AlertFilter,
        variables=_alert_filter,
        pick="alerts",
        listing=Listing("alerts"),
        shape=alert,
    ),
    Row(
        "POST",
        "/api/tenants/{tenantId}/monitoring/alerts/{id}/acknowledge",
        DOC,
        ("CksAcknowledgeAlert",),
        "Acknowledge alert",
        TAG,
        body=Acknowledgement,
        variables=lambda call, _: {"id": call.path["id"], "note": call.fields().get("note")},
        pick="acknowledgeAlert",
        shape=alert,
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/monitoring/incidents",
        DOC,
        ("CksIncidents",),
        "List incidents (future/optional)",
        TAG,
        query=IncidentFilter,
        variables=lambda call, _: {"status": None, **call.fields()},
        pick="incidents",
        listing=Listing("incidents"),
        shape=_incident,
    ),
]
