"""QAssure: roles (seed 003, "4. ROLES APIs"): list, read and delete; a tenant admin's. The list
is the system roles and the tenant's own. 003's role codes (super_admin, tenant_admin,
quality_manager, developer, viewer) are Fleetgraph's system roles of those names, so codes and
role names pass both ways unchanged.

A system role was never made nor changed: its `created_at` and `updated_at` read as empty.

Creating and updating a role are not served: 003's `code` is always one of the system roles'
codes and its `name` a display name ("Quality Manager"), while a Fleetgraph tenant's own role
has a machine name and a code of its own, never a system role's, and updateRole changes
neither name nor code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import RootModel

from app.rest.qassure.answers import Message, QAssureRole, message, text_or_empty
from app.rest.qassure.lookups import of_kind
from app.rest.qassure.ordering import Sorted, order_by
from app.rest.rows import Call, Data, Listing, Row

DOC = "roles.graphql"
TAG = "QAssure: roles"
ROLES = "/api/v1/roles"
ROLE = f"{ROLES}/{{id}}"
TIMES = ("created_at", "updated_at")
SORTS = {"created_at": "createdAt", "updated_at": "updatedAt"}


class RoleFilter(Sorted):
    scope: Literal["platform", "tenant", "module"] | None = None


def _listed(call: Call, _: Data) -> Data:
    assert isinstance(call.query, RoleFilter)
    return {"scope": call.query.scope, **order_by(call, SORTS)}


def _role(value: dict[str, Any], _: Call) -> dict[str, Any]:
    return text_or_empty(value, TIMES)


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
        "DELETE", ROLE, DOC, ("QAssureDeleteRole",), "Delete Role", TAG,
        pick="deleteRole", shape=message("Role deleted"), response=Message,
    ),
]  # fmt: skip
