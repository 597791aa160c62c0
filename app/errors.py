"""The one error vocabulary of the API (design.md), raised by resolvers and mapped once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class AppError(Exception):
    code = "INTERNAL"
    http_status = 500

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.details:
            ext["details"] = self.details
        return ext


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"
    http_status = 401


class AccountLocked(AppError):
    """Too many failed sign-ins: the account refuses every attempt, even with the right
    password, until `unlocks_at` (sent as the `unlocksAt` extension) or an admin unlocks it."""

    code = "ACCOUNT_LOCKED"
    http_status = 423

    def __init__(self, message: str, *, unlocks_at: datetime | None) -> None:
        super().__init__(message)
        self.unlocks_at = unlocks_at

    def extensions(self) -> dict[str, Any]:
        ext = super().extensions()
        if self.unlocks_at is not None:
            ext["unlocksAt"] = self.unlocks_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return ext


class Forbidden(AppError):
    code = "FORBIDDEN"
    http_status = 403


class NotFound(AppError):
    code = "NOT_FOUND"
    http_status = 404

    @classmethod
    def of(cls, what: str, identifier: str) -> NotFound:
        return cls(f"{what} {identifier!r} not found")


class Conflict(AppError):
    code = "CONFLICT"
    http_status = 409


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"
    http_status = 400

    @classmethod
    def field(cls, field: str, message: str) -> BadUserInput:
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class RateLimited(AppError):
    code = "RATE_LIMITED"
    http_status = 429


class UpstreamUnavailable(AppError):
    code = "UPSTREAM_UNAVAILABLE"
    http_status = 503


class UpstreamTimeout(AppError):
    code = "UPSTREAM_TIMEOUT"
    http_status = 504


class FieldErrors:
    """Collects per-field problems so a bad input reports all of them at once."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def add(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.details:
            summary = "; ".join(f"{d['field']}: {d['message']}" for d in self.details)
            raise BadUserInput(f"invalid input ({summary})", details=self.details)
