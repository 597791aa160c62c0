"""QAssure: tenants (seed 003, "2. TENANTS APIs"), the provider's: list, read, create, update
and delete. A body's `status` is reached by the status step it needs (statuses.py).

Fleetgraph makes every tenant with its administrator, who signs in with a one-time password:
a create body gives that person's `admin_email` (and, if it likes, `admin_name`) besides the
documented fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.rest.answers import Message, message
from app.rest.qassure.answers import QAssureTenant, Status, latest
from app.rest.qassure.ordering import Sorted, order_by
from app.rest.qassure.statuses import steps
from app.rest.rows import Call, Data, Listing, Row

DOC = "tenants.graphql"
TAG = "QAssure: tenants"
TENANTS = "/api/v1/tenants"
TENANT = f"{TENANTS}/{{id}}"
STATUS = "QAssureTenantStatus"
STEPS = ("deleted", "activated", "suspended")  # what the status step answers, last step first
CLEARABLE = ("subscriptionTier", "maxUsers", "maxModules")  # given as null: no tier, no limit
SORTS = {
    "subscription_tier": "subscriptionTier",
    "max_users": "maxUsers",
    "max_modules": "maxModules",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}


class TenantFilter(Sorted):
    status: Literal["active", "suspended", "deleted"] | None = None


class TenantBody(BaseModel):
    """`{name, slug, status, settings?, subscription_tier?, max_users?, max_modules?}`."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    name: str = Field(min_length=3, max_length=100)
    slug: str = Field(min_length=3, max_length=100, pattern=r"^[a-z0-9-]+$")
    status: Status
    settings: dict[str, Any] | None = None
    subscriptionTier: str | None = Field(None, alias="subscription_tier", max_length=50)
    maxUsers: int | None = Field(None, alias="max_users", ge=1)
    maxModules: int | None = Field(None, alias="max_modules", ge=1)


class NewTenant(TenantBody):
    adminEmail: str = Field(alias="admin_email", max_length=320, description="the tenant's administrator")
    adminName: str | None = Field(None, alias="admin_name", max_length=200)


def _input(body: TenantBody) -> Data:
    given = body.model_dump(exclude_unset=True, exclude={"status"})
    return {k: v for k, v in given.items() if v is not None or k in CLEARABLE}


def _listed(call: Call, _: Data) -> Data:
    assert isinstance(call.query, TenantFilter)
    return {"status": call.query.status, **order_by(call, SORTS)}


def _create(call: Call, data: Data) -> Data:
    assert isinstance(call.body, NewTenant)
    if "createTenant" not in data:
        return {"input": _input(call.body)}
    made = data["createTenant"]["tenant"]
    return {"id": made["id"], **steps(made["status"], call.body.status)}


def _update(call: Call, data: Data) -> Data:
    assert isinstance(call.body, TenantBody)
    if "updateTenant" not in data:
        return {"id": call.path["id"], "input": _input(call.body)}
    return {"id": call.path["id"], **steps(data["updateTenant"]["status"], call.body.status)}


ROWS = [
    Row(
        "GET", TENANTS, DOC, ("QAssureTenants",), "Get All Tenants", TAG,
        query=TenantFilter, variables=_listed, pick="tenants", listing=Listing(),
    ),
    Row("GET", TENANT, DOC, ("QAssureTenant",), "Get Tenant by ID", TAG, pick="tenant"),
    Row(
        "POST", TENANTS, DOC, ("QAssureCreateTenant", STATUS), "Create Tenant", TAG,
        body=NewTenant, variables=_create, shape=latest(*STEPS, "createTenant.tenant"), response=QAssureTenant,
    ),
    Row(
        "PUT", TENANT, DOC, ("QAssureUpdateTenant", STATUS), "Update Tenant", TAG,
        body=TenantBody, variables=_update, shape=latest(*STEPS, "updateTenant"), response=QAssureTenant,
    ),
    Row(
        "DELETE", TENANT, DOC, ("QAssureDeleteTenant",), "Delete Tenant", TAG,
        pick="deleteTenant", shape=message("Tenant deleted"), response=Message,
    ),
]  # fmt: skip
