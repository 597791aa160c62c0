"""Kubernetes ``Status`` answers mapped onto the API's error vocabulary (app.errors)."""

from __future__ import annotations

import json
from typing import Any

from app.errors import (
    AppError,
    BadUserInput,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)


class ResourceExpired(Conflict):
    """410 Gone: a watch's resourceVersion or a list's continue token is older than the server keeps.

    Whoever holds the version must list again; the caches do so by themselves.
    """


def parse_status(body: bytes | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {"message": body.decode(errors="replace")[:500]}
    return data if isinstance(data, dict) else {}


def _causes(status: dict[str, Any]) -> list[dict[str, Any]]:
    details = status.get("details") or {}
    causes = details.get("causes") if isinstance(details, dict) else None
    entries: list[dict[str, Any]] = []
    for cause in causes or []:
        if isinstance(cause, dict):
            entry = {"field": str(cause.get("field", "")), "message": str(cause.get("message", ""))}
            if cause.get("reason"):
                entry["reason"] = str(cause["reason"])
            entries.append(entry)
    return entries


def status_error(cluster: str, code: int, body: bytes | dict[str, Any] | None) -> AppError:
    """The error for a failed answer from ``cluster``; client errors keep Kubernetes' own message."""
    status = parse_status(body)
    message = str(status.get("message") or status.get("reason") or f"HTTP {code}")
    if code in (401, 403):
        return Forbidden(f"cluster {cluster}: {message}")
    if code == 404:
        return NotFound(message)
    if code == 409:
        return Conflict(message)
    if code == 410:
        return ResourceExpired(message)
    if code == 422:
        return BadUserInput(message, details=_causes(status))
    if code == 429:
        return RateLimited(f"cluster {cluster} is throttling requests: {message}")
    if code == 504:
        return UpstreamTimeout(f"cluster {cluster}: {message}")
    if 400 <= code < 500:
        return BadUserInput(message)
    return UpstreamUnavailable(f"cluster {cluster}: {message}")


def retry_after(headers: Any, status: dict[str, Any] | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` or ``details.retryAfterSeconds``."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None and status:
        details = status.get("details")
        value = details.get("retryAfterSeconds") if isinstance(details, dict) else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: rare from apiservers; fall back to our own backoff
