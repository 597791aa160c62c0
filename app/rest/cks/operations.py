"""CKS's operations center: the tenant's lifecycle operations (provision, scale, upgrade, ...),
one of them, and retrying a failed one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.rest.rows import Listing, Row

DOC = "operations.graphql"
TAG = "CKS: operations"
OPERATIONS = "/api/tenants/{tenantId}/operations"
OPERATION = OPERATIONS + "/{id}"


class OperationSearch(BaseModel):
    type: str | None = Field(None, max_length=40)
    status: Literal["queued", "running", "success", "failed", "cancelled"] | None = None


ROWS = [
    Row(
        "GET",
        OPERATIONS,
        DOC,
        ("CksOperations",),
        "List ongoing/previous operations (deployments, upgrades, etc.)",
        TAG,
        query=OperationSearch,
        pick="operations",
        listing=Listing("operations"),
    ),
    Row("GET", OPERATION, DOC, ("CksOperation",), "Get operation details", TAG, pick="operation"),
    Row(
        "POST",
        f"{OPERATION}/retry",
        DOC,
        ("CksRetryOperation",),
        "Retry failed operation",
        TAG,
        pick="retryOperation",
    ),
]
