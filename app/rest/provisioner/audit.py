"""The Provisioner's audit path: the caller's tenant's audit trail, newest first."""

from __future__ import annotations

from typing import Any

from app.rest.provisioner.answers import ProvisionerAuditView, listed
from app.rest.rows import Call, Listing, Row

DOC = "audit.graphql"
TAG = "Provisioner: audit"


def entry_view(value: dict[str, Any], _: Call) -> dict[str, Any]:
    """`resource_type` is what the entry is about; an entry about no object (a sign-in) names the
    kind of thing its action is, the first word of `auth.login`."""
    entry = {key: item for key, item in value.items() if key != "targetType"}
    kind = value.get("targetType") or str(value["action"]).split(".")[0]
    return {**entry, "resource_type": kind, "ip_address": value.get("ip_address") or None}


ROWS = [
    Row(
        "GET",
        "/api/v1/audit-logs",
        DOC,
        ("ProvisionerAuditLogs",),
        "List audit logs",
        TAG,
        pick="auditLogs",
        listing=Listing("data"),
        shape=entry_view,
        response=listed(ProvisionerAuditView),
    ),
]
