"""The Provisioner's user paths: the caller's tenant's users, with the Provisioner's role names
(app/rest/provisioner/roles.py) and `is_active` for an active (not suspended) account."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.rest.provisioner.answers import ProvisionerUserView, listed
from app.rest.provisioner.caller import CALLER, in_tenant, tenant_of
from app.rest.provisioner.roles import Role, documented_role, fleetgraph_role
from app.rest.rows import Call, Data, Listing, Row

DOC = "users.graphql"
TAG = "Provisioner: users"
USER = "/api/v1/users/{id}"


class CreateUser(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    full_name: str | None = Field(None, max_length=200)
    role: Role | None = None


class UpdateUser(BaseModel):
    full_name: str | None = Field(None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None


def _person(body: CreateUser | UpdateUser) -> Data:
    """The GraphQL input's fields the body gives."""
    given = {"name": body.full_name, "role": fleetgraph_role(body.role) if body.role else None}
    return {key: value for key, value in given.items() if value is not None}


def _create(call: Call, data: Data) -> Data:
    assert isinstance(call.body, CreateUser)
    person = {**_person(call.body), "email": call.body.email, "password": call.body.password}
    return {"tenantId": tenant_of(data), "input": person}


def _update(call: Call, data: Data) -> Data:
    assert isinstance(call.body, UpdateUser)
    active = ((data.get("user") or {}).get("status")) == "active"
    wanted = call.body.is_active
    return {
        **in_tenant(call, data),
        "input": _person(call.body),
        "activate": wanted is True and not active,
        "suspend": wanted is False and active,
    }


def user_view(value: dict[str, Any], _: Call) -> dict[str, Any]:
    user = {key: item for key, item in value.items() if key != "status"}
    return {**user, "role": documented_role(value.get("role")), "is_active": value.get("status") == "active"}


def _updated(data: dict[str, Any], call: Call) -> dict[str, Any]:
    """The user as the last mutation that ran left it."""
    last = data.get("suspendUser") or data.get("activateUser") or data["updateUser"]
    return user_view(last, call)


ROWS = [
    Row(
        "GET",
        "/api/v1/users",
        DOC,
        (CALLER, "ProvisionerUsers"),
        "List users",
        TAG,
        variables=in_tenant,
        pick="users",
        listing=Listing("data"),
        shape=user_view,
        response=listed(ProvisionerUserView),
    ),
    Row(
        "POST",
        "/api/v1/users",
        DOC,
        (CALLER, "ProvisionerCreateUser"),
        "Create user",
        TAG,
        body=CreateUser,
        variables=_create,
        pick="createUser",
        shape=user_view,
        status=201,
        response=ProvisionerUserView,
    ),
    Row(
        "PUT",
        USER,
        DOC,
        (CALLER, "ProvisionerUserStatus", "ProvisionerUpdateUser"),
        "Update user",
        TAG,
        body=UpdateUser,
        variables=_update,
        shape=_updated,
        response=ProvisionerUserView,
    ),
    Row(
        "DELETE",
        USER,
        DOC,
        (CALLER, "ProvisionerDeleteUser"),
        "Delete user",
        TAG,
        variables=in_tenant,
        pick="deleteUser",
        status=204,
    ),
]
