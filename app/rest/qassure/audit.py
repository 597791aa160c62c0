"""QAssure: audit logs (seed 003, "6. AUDIT LOGS APIs"): list and read; for whoever reads the
audit trail (a tenant admin, a quality manager: their tenant's entries; the provider: all).

An entry is one of Fleetgraph's audit rows in 003's words. The REST call an action came through
gives `request_method`, `request_path` and `response_status` (null for an action made through
GraphQL); bodies are not kept, so `request_body` and `response_body` are null. The row's request
ID is its `correlation_id`; whether the action succeeded, and who impersonated the actor, are in
`metadata`. Entries are never changed: `updated_at` is when the entry was made.

`user` is who acted, by the ID and email the entry records, with their names; those read as
empty where the user is gone (or is provider staff, whom a tenant's reader does not see)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, RootModel

from app.rest.qassure.answers import text_or_empty
from app.rest.qassure.lookups import of_kind
from app.rest.qassure.ordering import Sorted, order_by
from app.rest.rows import Call, Data, Listing, Row

DOC = "audit.graphql"
TAG = "QAssure: audit logs"
LOGS = "/api/v1/audit-logs"
SORTS = {
    "tenant_id": "tenantId",
    "user_id": "actorId",
    "resource_type": "targetType",
    "resource_id": "targetId",
    "request_method": "httpMethod",
    "request_path": "httpPath",
    "response_status": "httpStatus",
    "ip_address": "ip",
    "user_agent": "userAgent",
    "correlation_id": "requestId",
    "created_at": "createdAt",
    "updated_at": "createdAt",
}


class AuditFilter(Sorted):
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] | None = None


class Actor(BaseModel):
    id: str
    email: str
    first_name: str
    last_name: str


class TenantRef(BaseModel):
    id: str
    name: str


class QAssureAuditLog(BaseModel):
    id: str
    tenant_id: str | None
    user_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    request_method: str | None
    request_path: str | None
    request_body: dict[str, Any] | None
    response_status: int | None
    response_body: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    correlation_id: str | None
    changes: dict[str, Any] | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    user: Actor | None
    tenant: TenantRef | None


def _listed(call: Call, _: Data) -> Data:
    assert isinstance(call.query, AuditFilter)
    return {"method": call.query.method, **order_by(call, SORTS)}


def _entry(value: dict[str, Any], _: Call) -> dict[str, Any]:
    entry = {k: v for k, v in value.items() if k not in ("impersonatorId", "success")}
    actor = value["user"]
    metadata: dict[str, Any] = {"success": value["success"]}
    if value["impersonatorId"]:
        metadata["impersonator_id"] = value["impersonatorId"]
    return {
        **entry,
        "resource_type": value["resource_type"] or "",
        "request_body": None,
        "response_body": None,
        "ip_address": value["ip_address"] or None,
        "user_agent": value["user_agent"] or None,
        "correlation_id": value["correlation_id"] or None,
        "metadata": metadata,
        "updated_at": value["created_at"],
        "user": text_or_empty(actor, ("email", "first_name", "last_name")) if actor else None,
    }


ROWS = [
    Row(
        "GET", LOGS, DOC, ("QAssureAuditLogs",), "Get All Audit Logs", TAG,
        query=AuditFilter, variables=_listed, pick="auditLogs", listing=Listing(),
        shape=_entry, response=RootModel[list[QAssureAuditLog]],
    ),
    Row(
        "GET", f"{LOGS}/{{id}}", DOC, ("QAssureAuditLog",), "Get Audit Log by ID", TAG,
        variables=of_kind("audit", "audit log"), pick="node", shape=_entry, response=QAssureAuditLog,
    ),
]  # fmt: skip
