"""Kubilitics: sign-in, refresh, sign-out, the caller's own account and API keys (seed 002,
"Authentication Endpoints"). A locked account answers 423 (the dialect's ACCOUNT_LOCKED)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.answers import Message, message
from app.rest.kubilitics.roles import kubilitics_role
from app.rest.rows import Call, Row
from app.rest.values import epoch

DOC = "auth.graphql"
TAG = "Kubilitics: auth"
KEYS = "/api/v1/auth/api-keys"
SECRET = 1000  # the longest password a body may carry


class Login(BaseModel):
    """`{username, password}`: the username or the email the account signs in with; `tenant`
    (the tenant's slug or ID) is needed only when the email is used in several tenants."""

    model_config = ConfigDict(populate_by_name=True)
    email: str = Field(alias="username", min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=SECRET)
    tenant: str | None = Field(None, max_length=100)


class Refresh(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    refreshToken: str = Field(alias="refresh_token", min_length=1, max_length=4 * SECRET)


class ChangePassword(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    oldPassword: str = Field(alias="current_password", min_length=1, max_length=SECRET)
    newPassword: str = Field(alias="new_password", min_length=1, max_length=SECRET)


class NewApiKey(BaseModel):
    """`{name}`; `expires_in_days` makes a key that ends (without it the key never expires)."""

    model_config = ConfigDict(populate_by_name=True)
    name: str = Field(min_length=1, max_length=200)
    expiresInDays: int | None = Field(None, alias="expires_in_days")


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="seconds until the access token expires")
    token_type: str


class Me(BaseModel):
    id: str
    username: str
    role: str
    cluster_permissions: dict[str, str] = Field(description="role by cluster ID")


class ApiKey(BaseModel):
    id: str
    name: str
    key: str = Field(description="the key itself: shown only this once")
    created_at: datetime
    expires_at: datetime | None


def _tokens(value: dict[str, Any], _: Call) -> dict[str, Any]:
    """`expires_in`: the access token's remaining seconds."""
    tokens = dict(value)
    expires_at = epoch(tokens.pop("expiresAt")) or 0
    return {**tokens, "expires_in": max(0, expires_at - int(time.time()))}


def _me(value: dict[str, Any], _: Call) -> dict[str, Any]:
    return {
        "id": value["id"],
        "username": value["username"] or value["email"],
        "role": kubilitics_role(value["role"]),
        "cluster_permissions": {r["clusterId"]: kubilitics_role(r["role"]) for r in value["clusterRoles"]},
    }


def _key(value: dict[str, Any], _: Call) -> dict[str, Any]:
    return {**value["token"], "key": value["key"]}


ROWS = [
    Row(
        "POST",
        "/api/v1/auth/login",
        DOC,
        ("KubiliticsLogin",),
        "Authenticate user and receive access/refresh tokens",
        TAG,
        body=Login,
        pick="login",
        shape=_tokens,
        response=Tokens,
        public=True,
    ),
    Row(
        "POST",
        "/api/v1/auth/refresh",
        DOC,
        ("KubiliticsRefresh",),
        "Refresh access token using refresh token",
        TAG,
        body=Refresh,
        pick="refreshToken",
        shape=_tokens,
        response=Tokens,
        public=True,
    ),
    Row(
        "POST",
        "/api/v1/auth/logout",
        DOC,
        ("KubiliticsLogout",),
        "Logout (invalidates refresh token)",
        TAG,
        pick="logout",
        shape=message("Logged out successfully"),
        response=Message,
    ),
    Row(
        "GET",
        "/api/v1/auth/me",
        DOC,
        ("KubiliticsMe",),
        "Get current user information",
        TAG,
        pick="me",
        shape=_me,
        response=Me,
    ),
    Row(
        "POST",
        "/api/v1/auth/change-password",
        DOC,
        ("KubiliticsChangePassword",),
        "Change user password",
        TAG,
        body=ChangePassword,
        pick="changePassword",
        shape=message("Password changed successfully"),
        response=Message,
    ),
    Row(
        "POST",
        KEYS,
        DOC,
        ("KubiliticsCreateApiKey",),
        "Create API key for programmatic access",
        TAG,
        body=NewApiKey,
        pick="createApiToken",
        shape=_key,
        response=ApiKey,
        status=201,
    ),
    Row("GET", KEYS, DOC, ("KubiliticsApiKeys",), "List user's API keys", TAG, pick="apiTokens"),
    Row(
        "DELETE",
        f"{KEYS}/{{keyId}}",
        DOC,
        ("KubiliticsDeleteApiKey",),
        "Delete API key",
        TAG,
        pick="revokeApiToken",
        shape=message("API key deleted"),
        response=Message,
    ),
]
