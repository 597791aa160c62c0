"""CKS's own-account paths under `/api/tenants/{tenantId}/profile`: the caller's profile, their
recent activity and their API tokens. Each first asks GraphQL for the path's tenant, so a tenant
that is not the caller's answers 404 as any object of another tenant does.

An API token's secret is shown once, when it is made; a listed token's `value` is its prefix,
the part that tells it apart. `GET /api/tenants/{tenantId}/avatars/{id}` (an image made for a
user without an avatar) is not served: no GraphQL field draws one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.rest.rows import Call, Data, Row

DOC = "profile.graphql"
TAG = "CKS: profile"
TOKENS_TAG = "CKS: API tokens"
PROFILE = "/api/tenants/{tenantId}/profile"
TOKENS = f"{PROFILE}/tokens"


class UpdateProfile(BaseModel):
    """`{ name?, email?, avatar? }`."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    avatar: str | None = Field(None, max_length=2000)


class CreateApiToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)


class CksApiToken(BaseModel):
    id: str
    name: str
    value: str = Field(description="the token itself when it is made; its prefix afterwards")
    userId: str
    createdAt: str
    lastUsedAt: str | None = None
    expiresAt: str | None = None


class CksActivity(BaseModel):
    id: str
    userId: str
    action: str
    resourceType: str = Field(description="empty when the action has no target")
    resourceId: str
    createdAt: str


def _update(call: Call, _: Data) -> Data:
    assert call.body is not None
    return {"tenantId": call.path["tenantId"], "input": call.body.model_dump(exclude_none=True)}


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that have a value: 001 leaves an optional one out rather than null."""
    return {name: value for name, value in fields.items() if value is not None}


def _activity(data: Any, _: Call) -> list[dict[str, Any]]:
    user_id = data["me"]["id"]
    return [
        {
            **entry,
            "userId": user_id,
            "resourceType": entry["resourceType"] or "",
            "resourceId": entry["resourceId"] or "",
        }
        for entry in data["myActivity"] or []
    ]


def _tokens(tokens: Any, _: Call) -> list[dict[str, Any]]:
    return [_present(token) for token in tokens]


def _created(created: Any, _: Call) -> dict[str, Any]:
    return {**_present(created["token"]), "value": created["value"]}


ROWS = [
    Row("GET", PROFILE, DOC, ("CksProfile",), "Get own profile", TAG, pick="me"),
    Row(
        "PUT",
        PROFILE,
        DOC,
        ("CksTenantScope", "CksUpdateProfile"),
        "Update own profile (name, email, avatar)",
        TAG,
        body=UpdateProfile,
        variables=_update,
        pick="updateProfile",
    ),
    Row(
        "GET",
        f"{PROFILE}/activity",
        DOC,
        ("CksProfileActivity",),
        "Recent activity (for dashboard/profile)",
        TAG,
        shape=_activity,
        response=RootModel[list[CksActivity]],
    ),
    Row(
        "GET",
        TOKENS,
        DOC,
        ("CksApiTokens",),
        "List API tokens",
        TOKENS_TAG,
        pick="apiTokens",
        shape=_tokens,
        response=RootModel[list[CksApiToken]],
    ),
    Row(
        "POST",
        TOKENS,
        DOC,
        ("CksTenantScope", "CksCreateApiToken"),
        "Create API token",
        TOKENS_TAG,
        body=CreateApiToken,
        pick="createApiToken",
        shape=_created,
        response=CksApiToken,
    ),
    Row(
        "DELETE",
        f"{TOKENS}/{{tokenId}}",
        DOC,
        ("CksTenantScope", "CksRevokeApiToken"),
        "Revoke API token",
        TOKENS_TAG,
        pick="revokeApiToken",
    ),
]
