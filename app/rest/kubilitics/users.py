"""Kubilitics: user management, unlocking and per-cluster permissions (seed 002, "User
Management"); all of it is the tenant admin's.

The paths name no tenant: each row first runs `KubiliticsCaller` for the caller's own, so
another tenant's user is simply not found. Roles go by their Kubilitics names (roles.py).

A user's `locked_until` is null while the account is not locked. GraphQL tells whether an
account is locked (`locked`, also answered) but not until when, so a locked account's answer
leaves `locked_until` out rather than guess it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.paging import encode_cursor
from app.rest.answers import Message, message
from app.rest.kubilitics.roles import fleetgraph_role, kubilitics_role
from app.rest.rows import Call, Data, Row, Variables
from app.rest.values import UnknownId

DOC = "users.graphql"
TAG = "Kubilitics: users"
TAG_RBAC = "Kubilitics: cluster permissions"
USERS = "/api/v1/users"
USER = f"{USERS}/{{userId}}"
PERMISSIONS = f"{USER}/cluster-permissions"
CALLER = "KubiliticsCaller"


class UserPage(BaseModel):
    limit: int = Field(100, ge=1, le=100, description="at most 100")
    offset: int = Field(0, ge=0)


class NewUser(BaseModel):
    """`{username, password, role}`, and Fleetgraph's `email` and `name`: without them the
    username is both (it must then be an email address)."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1000)
    role: str = Field(min_length=1, max_length=100)
    email: str | None = Field(None, max_length=320)
    name: str | None = Field(None, max_length=200)


class UserChange(BaseModel):
    """`{role}`, or a new username or email. A password is not set here: its owner changes it
    at /api/v1/auth/change-password."""

    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(None, max_length=100)
    username: str | None = Field(None, max_length=320)
    email: str | None = Field(None, max_length=320)


class ClusterPermission(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    clusterId: str = Field(alias="cluster_id", min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=100)


class KubiliticsUser(BaseModel):
    id: str
    username: str
    role: str
    created_at: datetime
    last_login: datetime | None
    locked: bool
    locked_until: datetime | None = Field(None, description="null while not locked; left out for a locked account")


class CreatedUser(BaseModel):
    id: str
    username: str
    role: str
    created_at: datetime


class UpdatedUser(BaseModel):
    id: str
    username: str
    role: str
    updated_at: datetime


class KubiliticsClusterPermission(BaseModel):
    cluster_id: str
    role: str


Users = RootModel[list[KubiliticsUser]]
Permissions = RootModel[list[KubiliticsClusterPermission]]


def in_tenant(build: Callable[[Call], Data] = Call.fields) -> Variables:
    """The variables of the operation after `KubiliticsCaller`: `build`'s, in the caller's tenant."""

    def variables(call: Call, data: Data) -> Data:
        if "me" not in data:
            return {}  # KubiliticsCaller itself
        tenant = data["me"]["tenantId"]
        if tenant is None:
            raise UnknownId("these are a tenant's users: the caller belongs to no tenant")
        return {**build(call), "tenantId": tenant}

    return variables


def _page(call: Call) -> Data:
    assert isinstance(call.query, UserPage)
    offset = call.query.offset
    return {"first": call.query.limit, "after": encode_cursor(offset - 1) if offset else None}


def _new_user(call: Call) -> Data:
    assert isinstance(call.body, NewUser)
    body = call.body
    email = body.email or body.username
    user = {"email": email, "password": body.password, "role": fleetgraph_role(body.role)}
    user["name"] = body.name or body.username
    if body.username != email:
        user["username"] = body.username
    return {"input": user}


def _user_change(call: Call) -> Data:
    assert isinstance(call.body, UserChange)
    change = call.body.model_dump(exclude_none=True)
    if "role" in change:
        change["role"] = fleetgraph_role(change["role"])
    return {**call.path, "input": change}


def _set_permission(call: Call) -> Data:
    assert isinstance(call.body, ClusterPermission)
    return {**call.path, "clusterId": call.body.clusterId, "role": fleetgraph_role(call.body.role)}


def _user(value: dict[str, Any], _: Call | None = None) -> dict[str, Any]:
    user = {k: v for k, v in value.items() if k not in ("email", "locked")}
    user["username"] = value["username"] or value["email"]
    user["role"] = kubilitics_role(value["role"])
    if "locked" in value:
        user["locked"] = value["locked"]
        if not value["locked"]:
            user["locked_until"] = None
    return user


def _users(value: list[dict[str, Any]], _: Call) -> list[dict[str, Any]]:
    return [_user(user) for user in value]


def _permissions(value: list[dict[str, Any]], _: Call) -> list[dict[str, Any]]:
    return [{**p, "role": kubilitics_role(p["role"])} for p in value]


def _permission(value: list[dict[str, Any]], call: Call) -> dict[str, Any]:
    assert isinstance(call.body, ClusterPermission)
    given = next(p for p in value if p["cluster_id"] == call.body.clusterId)
    return {**given, "role": kubilitics_role(given["role"])}


def _row(method: str, path: str, operation: str, summary: str, **more: Any) -> Row:
    """A row that runs `KubiliticsCaller`, then `operation` in the caller's tenant."""
    more.setdefault("variables", in_tenant())
    return Row(method, path, DOC, (CALLER, operation), summary, more.pop("tag", TAG), **more)


ROWS = [
    _row(
        "GET",
        USERS,
        "KubiliticsUsers",
        "List all users",
        query=UserPage,
        variables=in_tenant(_page),
        pick="users.nodes",
        shape=_users,
        response=Users,
    ),
    _row(
        "POST",
        USERS,
        "KubiliticsCreateUser",
        "Create new user",
        body=NewUser,
        variables=in_tenant(_new_user),
        pick="createUser",
        shape=_user,
        response=CreatedUser,
        status=201,
    ),
    _row("GET", USER, "KubiliticsUser", "Get user details", pick="user", shape=_user, response=KubiliticsUser),
    _row(
        "PATCH",
        USER,
        "KubiliticsUpdateUser",
        "Update user",
        body=UserChange,
        variables=in_tenant(_user_change),
        pick="updateUser",
        shape=_user,
        response=UpdatedUser,
    ),
    _row(
        "DELETE",
        USER,
        "KubiliticsDeleteUser",
        "Delete user (soft delete)",
        pick="deleteUser",
        shape=message("User deleted"),
        response=Message,
    ),
    _row(
        "POST",
        f"{USER}/unlock",
        "KubiliticsUnlockUser",
        "Unlock locked user account",
        pick="unlockUser",
        shape=message("User unlocked"),
        response=Message,
    ),
    _row(
        "GET",
        PERMISSIONS,
        "KubiliticsClusterPermissions",
        "List user's cluster permissions",
        tag=TAG_RBAC,
        pick="user.clusterRoles",
        shape=_permissions,
        response=Permissions,
    ),
    _row(
        "POST",
        PERMISSIONS,
        "KubiliticsSetClusterPermission",
        "Set user's cluster permission",
        tag=TAG_RBAC,
        body=ClusterPermission,
        variables=in_tenant(_set_permission),
        pick="setClusterRole.clusterRoles",
        shape=_permission,
        response=KubiliticsClusterPermission,
    ),
    _row(
        "DELETE",
        f"{PERMISSIONS}/{{clusterId}}",
        "KubiliticsSetClusterPermission",
        "Remove user's cluster permission",
        tag=TAG_RBAC,
        pick="setClusterRole",
        shape=message("Cluster permission removed"),
        response=Message,
    ),
]
