"""QAssure: users (seed 003, "3. USERS APIs"): list, read, create, update and delete; a tenant
admin's. The paths name no tenant: a list, a read and a delete are in the caller's own tenant
(`QAssureCaller` runs first), a create and an update in the body's `tenant_id`, so another
tenant's user is simply not found. A body's `status` is reached by the status step it needs
(statuses.py); Fleetgraph deletes a user outright, so `deleted` is no status a body can give.

A user's names are strings in 003; Fleetgraph's user may have none (one made with a one-word
name has no last name): those read as empty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from app.rest.answers import Message, message
from app.rest.qassure.answers import QAssureUser, Status, latest, text_or_empty
from app.rest.qassure.ordering import Sorted, order_by
from app.rest.qassure.statuses import steps
from app.rest.rows import Call, Data, Listing, Row, Variables
from app.rest.values import UnknownId

DOC = "users.graphql"
TAG = "QAssure: users"
USERS = "/api/v1/users"
USER = f"{USERS}/{{id}}"
CALLER = "QAssureCaller"
STATUS = "QAssureUserStatus"
STEPS = ("activated", "suspended")  # what the status step answers
NAMES = ("first_name", "last_name")
SORTS = {
    "tenant_id": "tenantId",
    "first_name": "firstName",
    "last_name": "lastName",
    "auth_provider": "authProvider",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}


class UserFilter(Sorted):
    status: Literal["active", "suspended", "deleted"] | None = None


class UserBody(BaseModel):
    """`{email, first_name, last_name, status, auth_provider?, tenant_id, role_id}`."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    email: str = Field(max_length=320)
    firstName: str = Field(alias="first_name", max_length=100)
    lastName: str = Field(alias="last_name", max_length=100)
    status: Status
    authProvider: str | None = Field(None, alias="auth_provider", max_length=40)
    tenantId: str = Field(alias="tenant_id", min_length=1, max_length=100)
    roleId: str = Field(alias="role_id", min_length=1, max_length=100)

    @field_validator("status")
    @classmethod
    def _kept(cls, value: str) -> str:
        if value == "deleted":
            raise ValueError("a user is deleted with DELETE /api/v1/users/{id}: no user is kept as deleted")
        return value


class NewUser(UserBody):
    """The same, with `password` (at least 6 characters) and `auth_provider` required (`local`)."""

    password: str = Field(min_length=6, max_length=1000)
    authProvider: Literal["local"] = Field(alias="auth_provider")  # type: ignore[assignment]


def in_callers_tenant(build: Callable[[Call], Data]) -> Variables:
    """The variables of the operation after `QAssureCaller`: `build`'s, in the caller's tenant."""

    def variables(call: Call, data: Data) -> Data:
        if "me" not in data:
            return {}
        tenant = data["me"]["tenantId"]
        if tenant is None:
            raise UnknownId("these are a tenant's users: the caller belongs to no tenant")
        return {**build(call), "tenantId": tenant}

    return variables


def _listed(call: Call) -> Data:
    assert isinstance(call.query, UserFilter)
    return {"status": call.query.status, **order_by(call, SORTS)}


def _written(made: str) -> Variables:
    """The variables of a create or update (`made` names its answer), then of the status step."""

    def variables(call: Call, data: Data) -> Data:
        assert isinstance(call.body, UserBody)
        tenant = call.body.tenantId
        if made not in data:
            given = call.body.model_dump(exclude_unset=True, exclude={"status", "tenantId"})
            return {**call.path, "tenantId": tenant, "input": {k: v for k, v in given.items() if v is not None}}
        user = data[made]
        return {"tenantId": tenant, "id": user["id"], **steps(user["status"], call.body.status)}

    return variables


def _user(value: dict[str, Any], _: Call) -> dict[str, Any]:
    return text_or_empty(value, NAMES)


def _last_step(made: str) -> Any:
    step = latest(*STEPS, made)

    def shape(value: Any, call: Call) -> dict[str, Any]:
        return _user(step(value, call), call)

    return shape


def _row(method: str, path: str, operation: str, summary: str, **more: Any) -> Row:
    """A row that runs `QAssureCaller`, then `operation` in the caller's tenant."""
    more.setdefault("variables", in_callers_tenant(Call.fields))
    return Row(method, path, DOC, (CALLER, operation), summary, TAG, **more)


ROWS = [
    _row(
        "GET", USERS, "QAssureUsers", "Get All Users",
        query=UserFilter, variables=in_callers_tenant(_listed), pick="users", listing=Listing(),
        shape=_user, response=RootModel[list[QAssureUser]],
    ),
    _row("GET", USER, "QAssureUser", "Get User by ID", pick="user", shape=_user, response=QAssureUser),
    Row(
        "POST", USERS, DOC, ("QAssureCreateUser", STATUS), "Create User", TAG,
        body=NewUser, variables=_written("createUser"), shape=_last_step("createUser"), response=QAssureUser,
    ),
    Row(
        "PUT", USER, DOC, ("QAssureUpdateUser", STATUS), "Update User", TAG,
        body=UserBody, variables=_written("updateUser"), shape=_last_step("updateUser"), response=QAssureUser,
    ),
    _row(
        "DELETE", USER, "QAssureDeleteUser", "Delete User",
        pick="deleteUser", shape=message("User deleted"), response=Message,
    ),
]  # fmt: skip
