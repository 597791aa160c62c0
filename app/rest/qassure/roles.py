"""QAssure: roles (seed 003, "4. ROLES APIs"): list, read, create, update and delete; a tenant
admin's. The list is the system roles and the tenant's own.

003's `code` is one of super_admin, tenant_admin, quality_manager, developer and viewer, which
are Fleetgraph's system roles of those names. A role the tenant makes is one of those kinds: it
is made from (`basedOn`) the system role its body's code names, and has that role's permissions
unless the body gives `permissions` of its own (never more than the caller holds). Its `name` is
any text; the machine name users hold it by is its Fleetgraph code, made from the name. An
answer's `code` is the system role a role is, or is made from (a role made through GraphQL from
none shows its own code). An update with another code makes the role from that system role, so
it takes that role's permissions.

A system role was never made nor changed: its `created_at` and `updated_at` read as empty."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.rest.answers import Message, message
from app.rest.qassure.answers import QAssureRole, text_or_empty
from app.rest.qassure.lookups import of_kind
from app.rest.qassure.ordering import Sorted, order_by
from app.rest.rows import Call, Data, Listing, Row

DOC = "roles.graphql"
TAG = "QAssure: roles"
ROLES = "/api/v1/roles"
ROLE = f"{ROLES}/{{id}}"
TIMES = ("created_at", "updated_at")
SORTS = {"created_at": "createdAt", "updated_at": "updatedAt"}
Scope = Literal["platform", "tenant", "module"]
Code = Literal["super_admin", "tenant_admin", "quality_manager", "developer", "viewer"]
Permission = Annotated[str, Field(max_length=100)]


class RoleFilter(Sorted):
    scope: Scope | None = None


class RoleBody(BaseModel):
    """`{name, code, description, scope}`; `permissions` (Fleetgraph's, e.g. `audit:read`) if the
    role is to have others than those of the system role its code names."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    basedOn: Code = Field(alias="code", description="the system role the role is made from")
    description: str = Field(max_length=1000)
    scope: Scope
    permissions: list[Permission] | None = Field(None, max_length=100, description="omitted: the code's")


def _input(call: Call) -> Data:
    assert isinstance(call.body, RoleBody)
    return call.body.model_dump(exclude_none=True)


def _listed(call: Call, _: Data) -> Data:
    assert isinstance(call.query, RoleFilter)
    return {"scope": call.query.scope, **order_by(call, SORTS)}


def _role(value: dict[str, Any], _: Call) -> dict[str, Any]:
    role = {k: v for k, v in value.items() if k != "basedOn"}
    return {**text_or_empty(role, TIMES), "code": value["basedOn"] or value["code"]}


ROWS = [
    Row(
        "GET", ROLES, DOC, ("QAssureRoles",), "Get All Roles", TAG,
        query=RoleFilter, variables=_listed, pick="roles", listing=Listing(),
        shape=_role, response=RootModel[list[QAssureRole]],
    ),
    Row(
        "GET", ROLE, DOC, ("QAssureRole",), "Get Role by ID", TAG,
        variables=of_kind("role", "role"), pick="node", shape=_role, response=QAssureRole,
    ),
    Row(
        "POST", ROLES, DOC, ("QAssureCreateRole",), "Create Role", TAG,
        body=RoleBody, variables=lambda call, _: {"input": _input(call)}, pick="createRole",
        shape=_role, response=QAssureRole,
    ),
    Row(
        "PUT", ROLE, DOC, ("QAssureUpdateRole",), "Update Role", TAG,
        body=RoleBody, variables=lambda call, _: {"id": call.path["id"], "input": _input(call)}, pick="updateRole",
        shape=_role, response=QAssureRole,
    ),
    Row(
        "DELETE", ROLE, DOC, ("QAssureDeleteRole",), "Delete Role", TAG,
        pick="deleteRole", shape=message("Role deleted"), response=Message,
    ),
]  # fmt: skip
