"""The Provisioner's paths name no tenant: the caller's own is meant. A row that needs it runs the
`ProvisionerCaller` operation (`me { tenantId }`, in its document) first and reads it from there."""

from __future__ import annotations

from app.rest.rows import Call, Data

CALLER = "ProvisionerCaller"


def tenant_of(data: Data) -> str | None:
    """The caller's tenant, from the `ProvisionerCaller` operation run before."""
    me = data.get("me") or {}
    return me.get("tenantId") if isinstance(me, dict) else None


def in_tenant(call: Call, data: Data) -> Data:
    """The path's parameters, and the caller's tenant."""
    return {**call.path, "tenantId": tenant_of(data)}
