"""Scalars as they go on the wire: datetimes in UTC ISO 8601 with a trailing Z."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry


def _serialize(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("datetime must carry a timezone (use Z for UTC)")
    return parsed.astimezone(UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description="UTC date and time, ISO 8601 with a Z",
    serialize=_serialize,
    parse_value=_parse,
)


def parse_datetime(value: str | None) -> datetime | None:
    """Kubernetes timestamps ('2026-01-02T03:04:05Z'); None when absent or unreadable."""
    if not value:
        return None
    try:
        return _parse(value)
    except ValueError:
        return None
