"""QAssure: signing in and out (seed 003, "1. AUTHENTICATION APIs"). Tokens are Fleetgraph's own.

`roles` holds the one role the user has, by its code: 003's codes are Fleetgraph's system role
names, and a tenant's own role has a code of its own. A user without a first or last name (one
made with a one-word name has no last name) reads as empty there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.answers import Message, message
from app.rest.qassure.answers import text_or_empty
from app.rest.rows import Call, Row

DOC = "auth.graphql"
TAG = "QAssure: auth"
NAMES = ("first_name", "last_name")


class Login(BaseModel):
    """`{email, password}`; `tenant` (slug or ID) picks the account when the email is in several tenants."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1000)
    tenant: str | None = Field(None, max_length=100)


class SignedInUser(BaseModel):
    id: str
    email: str
    first_name: str
    last_name: str


class SignedIn(BaseModel):
    user: SignedInUser
    tenant_id: str | None
    roles: list[str]
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int = Field(description="seconds the access token has left")
    expires_at: datetime


def _signed_in(value: dict[str, Any], _: Call) -> dict[str, Any]:
    user, expires_at = value["user"], value["expiresAt"]
    expires = datetime.fromisoformat(str(expires_at).replace("Z", "+00:00"))
    return {
        "user": text_or_empty({k: user[k] for k in ("id", "email", "first_name", "last_name")}, NAMES),
        "tenant_id": user["tenantId"],
        "roles": [user["role"]],
        "access_token": value["access_token"],
        "refresh_token": value["refresh_token"],
        "token_type": value["token_type"],
        "expires_in": max(0, int((expires - datetime.now(UTC)).total_seconds())),
        "expires_at": expires_at,
    }


ROWS = [
    Row(
        "POST", "/api/v1/auth/login", DOC, ("QAssureLogin",), "Login", TAG,
        body=Login, pick="login", shape=_signed_in, public=True, response=SignedIn,
    ),
    Row(
        "POST", "/api/v1/auth/logout", DOC, ("QAssureLogout",), "Logout", TAG,
        pick="logout", shape=message("Signed out"), response=Message,
    ),
]  # fmt: skip
