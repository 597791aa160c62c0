"""CKS's security paths (`/api/tenants/{tenantId}/security/...`): the tenant's audit trail, and
its security events: the trail's sign-in entries (logins, failed logins, sign-outs, password
changes and resets, ended sessions), each with a sentence that says who did it and from where.

001 gives an entry's user and target as strings: an entry made by no one (a failed login for an
unknown email) or about nothing has them empty."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, RootModel

from app.rest.rows import Call, Data, Listing, Row

DOC = "audit.graphql"
TAG = "CKS: audit"
SECURITY = "/api/tenants/{tenantId}/security"
SIGN_IN_ACTIONS = "auth.*"


class AuditSearch(BaseModel):
    userId: str | None = Field(None, max_length=100)
    action: str | None = Field(None, max_length=100)


class CksAuditLog(BaseModel):
    id: str
    userId: str = Field(description="empty when no one signed in made it")
    actorEmail: str | None
    action: str
    resourceType: str
    resourceId: str
    details: dict[str, Any]
    success: bool
    createdAt: str


class CksSecurityEvent(BaseModel):
    id: str
    type: str
    message: str
    timestamp: str
    actorEmail: str | None
    ip: str
    userAgent: str
    success: bool
    details: dict[str, Any]


def _log(entry: Any, _: Call) -> dict[str, Any]:
    empty = {name: entry[name] or "" for name in ("userId", "resourceType", "resourceId")}
    return {**entry, **empty}


def _event(entry: Any, _: Call) -> dict[str, Any]:
    details = entry["details"] if isinstance(entry["details"], dict) else {}
    who = entry["actorEmail"] or details.get("email") or "an unknown caller"
    message = f"{entry['type']}: {who} from {entry['ip']}"
    if not entry["success"] and details.get("reason"):
        message = f"{message}: {details['reason']}"
    return {**entry, "message": message}


def _events(call: Call, _: Data) -> Data:
    return {"tenantId": call.path["tenantId"], "action": SIGN_IN_ACTIONS}


ROWS = [
    Row(
        "GET",
        f"{SECURITY}/audit-logs",
        DOC,
        ("CksAuditLogs",),
        "List audit logs (filter, pagination)",
        TAG,
        query=AuditSearch,
        pick="auditLogs",
        listing=Listing("logs"),
        shape=_log,
        response=RootModel[list[CksAuditLog]],
    ),
    Row(
        "GET",
        f"{SECURITY}/events",
        DOC,
        ("CksSecurityEvents",),
        "Security events (future/optional)",
        TAG,
        variables=_events,
        pick="auditLogs",
        listing=Listing("events"),
        shape=_event,
        response=RootModel[list[CksSecurityEvent]],
    ),
]
