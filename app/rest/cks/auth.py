"""CKS's sign-in paths (`/api/auth/...`): log in and out, refresh, change the password, who am I,
and the caller's sessions. The login's `expiresAt` is epoch seconds, as 001's `z.number()` says."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.rest.rows import Row

DOC = "auth.graphql"
TAG = "CKS: auth"
SESSIONS = "CKS: sessions"
SECRET = 1000  # longest password or token a body may carry


class Login(BaseModel):
    """`{ email, password }`; `tenant` (slug or ID) picks the account when the email is in several tenants."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=SECRET)
    tenant: str | None = Field(None, max_length=100)


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refreshToken: str = Field(max_length=4 * SECRET)


class ChangePassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oldPassword: str = Field(max_length=SECRET)
    newPassword: str = Field(max_length=SECRET)


ROWS = [
    Row(
        "POST",
        "/api/auth/login",
        DOC,
        ("CksLogin",),
        "User login (JWT)",
        TAG,
        body=Login,
        pick="login",
        epochs=("expiresAt",),
        public=True,
    ),
    Row("POST", "/api/auth/logout", DOC, ("CksLogout",), "Invalidate session/JWT", TAG, pick="logout"),
    Row(
        "POST",
        "/api/auth/refresh",
        DOC,
        ("CksRefresh",),
        "Refresh JWT",
        TAG,
        body=Refresh,
        pick="refreshToken",
        epochs=("expiresAt",),
        public=True,
    ),
    Row(
        "POST",
        "/api/auth/change-password",
        DOC,
        ("CksChangePassword",),
        "Change password (enforced on first login/reset)",
        TAG,
        body=ChangePassword,
        pick="changePassword",
    ),
    Row("GET", "/api/auth/me", DOC, ("CksMe",), "Get current user/session info", TAG, pick="me"),
    Row("GET", "/api/auth/sessions", DOC, ("CksSessions",), "List active sessions for user", SESSIONS, pick="sessions"),
    Row(
        "DELETE",
        "/api/auth/sessions/{sessionId}",
        DOC,
        ("CksRevokeSession",),
        "Revoke session",
        SESSIONS,
        pick="revokeSession",
    ),
]
