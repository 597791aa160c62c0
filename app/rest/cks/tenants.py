"""CKS's provider paths: the provider's staff list, create, suspend, delete and impersonate tenants."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.rest.rows import Call, Data, Listing, Row

DOC = "tenants.graphql"
TAG = "CKS: provider tenants"
TENANT = "/api/provider/tenants/{tenantId}"


class TenantSearch(BaseModel):
    search: str | None = Field(None, max_length=200)


class CreateTenant(BaseModel):
    """`{ name, adminEmail, ... }`: the rest of CreateTenantInput is accepted under its own names."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    adminEmail: str = Field(max_length=320)
    slug: str | None = Field(None, max_length=100)
    adminName: str | None = Field(None, max_length=200)
    subscriptionTier: str | None = Field(None, max_length=40)
    maxUsers: int | None = None
    maxClusters: int | None = None


def _create(call: Call, _: Data) -> Data:
    assert call.body is not None
    return {"input": call.body.model_dump(exclude_none=True)}


ROWS = [
    Row(
        "GET", "/api/provider/tenants", DOC, ("CksProviderTenants",), "List all tenants (customers)", TAG,
        query=TenantSearch, pick="tenants", listing=Listing("tenants"),
    ),
    Row("GET", TENANT, DOC, ("CksProviderTenant",), "Get tenant details", TAG, pick="tenant"),
    Row(
        "POST", "/api/provider/tenants", DOC, ("CksCreateTenant",),
        "Create new tenant (provision customer org & admin)", TAG,
        body=CreateTenant, variables=_create, pick="createTenant",
    ),
    Row("POST", f"{TENANT}/suspend", DOC, ("CksSuspendTenant",), "Suspend tenant", TAG, pick="suspendTenant"),
    Row("DELETE", TENANT, DOC, ("CksDeleteTenant",), "Delete tenant", TAG, pick="deleteTenant"),
    Row(
        "POST", f"{TENANT}/impersonate", DOC, ("CksImpersonateTenant",),
        "Provider impersonates tenant admin (support)", TAG, pick="impersonateTenant", epochs=("expiresAt",),
    ),
]
