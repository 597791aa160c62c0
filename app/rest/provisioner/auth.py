"""The Provisioner's sign-in paths: OAuth2's password form (or the same fields as JSON), the
refresh, sign-out and the caller's own account. Tokens are Fleetgraph's own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.provisioner.answers import ProvisionerAccount, ProvisionerTokens
from app.rest.provisioner.roles import documented_role
from app.rest.rows import Call, Data, Row

DOC = "auth.graphql"
TAG = "Provisioner: auth"


class PasswordForm(BaseModel):
    """OAuth2PasswordRequestForm: `username` is the email; the client fields are accepted and unused."""

    username: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    grant_type: str | None = Field(None, max_length=20)
    scope: str = Field("", max_length=1000)
    client_id: str | None = Field(None, max_length=200)
    client_secret: str | None = Field(None, max_length=1000)


class Refresh(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    refreshToken: str = Field(alias="refresh_token", min_length=1, max_length=4096)


def _login(call: Call, _: Data) -> Data:
    assert isinstance(call.body, PasswordForm)
    return {"email": call.body.username, "password": call.body.password}


def account(user: dict[str, Any]) -> dict[str, Any]:
    return {**user, "role": documented_role(user.get("role"))}


def tokens(value: dict[str, Any], _: Call) -> dict[str, Any]:
    """`expires_in` is the access token's seconds left, as OAuth2 gives it."""
    expires = datetime.fromisoformat(str(value["expiresAt"]).replace("Z", "+00:00"))
    seconds = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    return {
        "access_token": value["access_token"],
        "refresh_token": value["refresh_token"],
        "token_type": str(value["token_type"]).lower(),
        "expires_in": seconds,
        "user": account(value["user"]),
    }


ROWS = [
    Row(
        "POST",
        "/api/v1/auth/login",
        DOC,
        ("ProvisionerLogin",),
        "User Login",
        TAG,
        body=PasswordForm,
        form=True,
        variables=_login,
        pick="login",
        shape=tokens,
        public=True,
        response=ProvisionerTokens,
    ),
    Row(
        "POST",
        "/api/v1/auth/refresh",
        DOC,
        ("ProvisionerRefresh",),
        "Refresh Token",
        TAG,
        body=Refresh,
        pick="refreshToken",
        shape=tokens,
        public=True,
        response=ProvisionerTokens,
    ),
    Row("POST", "/api/v1/auth/logout", DOC, ("ProvisionerLogout",), "Logout", TAG, pick="logout", status=204),
    Row(
        "GET",
        "/api/v1/auth/me",
        DOC,
        ("ProvisionerMe",),
        "Current User Info",
        TAG,
        pick="me",
        shape=lambda value, _: account(value),
        response=ProvisionerAccount,
    ),
]
