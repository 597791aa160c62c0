"""CKS's user management (`/api/tenants/{tenantId}/users`): list, read, create, edit, delete,
suspend, reactivate and force a password reset. Role names are Fleetgraph's own (`tenant_admin`,
`operator`, `developer`, `viewer`, or a role the tenant made): 001's `UserRoleSchema` is an open name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.rest.rows import Call, Data, Listing, Row

DOC = "users.graphql"
TAG = "CKS: users"
USERS = "/api/tenants/{tenantId}/users"
USER = f"{USERS}/{{id}}"
NAME = 200
ROLE = 100


class UserSearch(BaseModel):
    search: str | None = Field(None, max_length=200)
    role: str | None = Field(None, min_length=1, max_length=ROLE)


class CreateUser(BaseModel):
    """`{ email, name, role, avatar?, password }`."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    name: str = Field(max_length=NAME)
    role: str = Field(min_length=1, max_length=ROLE)
    avatar: str | None = Field(None, max_length=2000)
    password: str = Field(max_length=1000)


class UpdateUser(BaseModel):
    """`{ name?, role?, avatar?, permissions? }`: permissions come with a role, never one by one."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=NAME)
    role: str | None = Field(None, min_length=1, max_length=ROLE)
    avatar: str | None = Field(None, max_length=2000)
    permissions: list[str] | None = Field(None, max_length=100)

    @field_validator("permissions")
    @classmethod
    def _by_role_only(cls, value: list[str] | None) -> list[str] | None:
        if value:
            raise ValueError("a user's permissions are those of their role: give them a role that holds these")
        return value


def _create(call: Call, _: Data) -> Data:
    """A user made by an administrator changes the password they were given at first sign-in (000)."""
    assert call.body is not None
    return {
        "tenantId": call.path["tenantId"],
        "input": {**call.body.model_dump(exclude_none=True), "mustChangePassword": True},
    }


def _update(call: Call, _: Data) -> Data:
    assert call.body is not None
    fields = call.body.model_dump(exclude_unset=True, exclude_none=True, exclude={"permissions"})
    return {**call.path, "input": fields}


ROWS = [
    Row(
        "GET",
        USERS,
        DOC,
        ("CksUsers",),
        "List/search users (filter, pagination)",
        TAG,
        query=UserSearch,
        pick="users",
        listing=Listing("users"),
    ),
    Row("GET", USER, DOC, ("CksUser",), "Get user details", TAG, pick="user"),
    Row(
        "POST",
        USERS,
        DOC,
        ("CksCreateUser",),
        "Create user (customer admin only)",
        TAG,
        body=CreateUser,
        variables=_create,
        pick="createUser",
    ),
    Row(
        "PUT",
        USER,
        DOC,
        ("CksUpdateUser",),
        "Edit user (roles, info)",
        TAG,
        body=UpdateUser,
        variables=_update,
        pick="updateUser",
    ),
    Row("DELETE", USER, DOC, ("CksDeleteUser",), "Delete user", TAG, pick="deleteUser"),
    Row("POST", f"{USER}/suspend", DOC, ("CksSuspendUser",), "Suspend user", TAG, pick="suspendUser"),
    Row("POST", f"{USER}/activate", DOC, ("CksActivateUser",), "Reactivate user", TAG, pick="activateUser"),
    Row(
        "POST",
        f"{USER}/reset-password",
        DOC,
        ("CksResetUserPassword",),
        "Force password reset",
        TAG,
        pick="resetUserPassword",
    ),
]
