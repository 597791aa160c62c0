"""What an alert looks like when it leaves the service: Alertmanager's webhook message, version 4.

Receivers written for Alertmanager's ``webhook_config`` read Fleetgraph's notifications unchanged:
the same keys in the same order, timestamps as Go writes them (RFC 3339, UTC with ``Z``, the
fraction of a second without trailing zeros), a firing alert's ``endsAt`` the zero time
``0001-01-01T00:00:00Z``, a resolved one's its resolution time. ``label_fingerprint`` is
Alertmanager's own fingerprint of a label set, so an alert can carry the ID Alertmanager gives it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

VERSION = "4"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, which Alertmanager writes for "not ended"
ROOT_ROUTE = "{}"  # the key of Alertmanager's root route, the first half of a group key
AlertStatus = Literal["firing", "resolved"]
STATUSES: frozenset[str] = frozenset({"firing", "resolved"})

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = b"\xff"  # a byte that never occurs in UTF-8, between names and values


@dataclass(frozen=True)
class OutgoingAlert:
    """One alert as it is sent: ``ends_at`` is the resolution time of a resolved alert, and is not
    sent for a firing one."""

    fingerprint: str
    status: AlertStatus
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"an alert's status is 'firing' or 'resolved', not {self.status!r}")
        if self.status == "resolved" and self.ends_at is None:
            raise ValueError("a resolved alert needs its resolution time (ends_at)")

    @property
    def firing(self) -> bool:
        return self.status == "firing"


def rfc3339(moment: datetime) -> str:
    """``moment`` as Go's RFC3339Nano writes it in UTC: ``2024-05-01T12:00:00.25Z``. A naive
    datetime is taken to be UTC already."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    return f"{utc:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's (Prometheus') fingerprint of a label set: FNV-1a 64 over the sorted names
    and values, as 16 hex digits."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in part:
                digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def label_set_text(labels: Mapping[str, str]) -> str:
    """A label set as Prometheus prints it: ``{alertname="Down", job="api"}``, names sorted."""
    return "{" + ", ".join(f"{name}={json.dumps(labels[name], ensure_ascii=False)}" for name in sorted(labels)) + "}"


def group_key(group_labels: Mapping[str, str], route: str = ROOT_ROUTE) -> str:
    """The key Alertmanager gives a group: its route's key, then its group labels."""
    return f"{route}:{label_set_text(group_labels)}"


def alert_entry(alert: OutgoingAlert) -> dict[str, Any]:
    """One element of the message's ``alerts``."""
    ends_at = ZERO_TIME if alert.firing or alert.ends_at is None else rfc3339(alert.ends_at)
    return {
        "status": alert.status,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": ends_at,
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every one of ``maps`` has with the same value."""
    if not maps:
        return {}
    first, *others = maps
    return {key: value for key, value in first.items() if all(other.get(key) == value for other in others)}


def webhook_payload(
    receiver: str,
    alerts: Sequence[OutgoingAlert],
    *,
    external_url: str,
    group_labels: Mapping[str, str] | None = None,
    key: str | None = None,
    max_alerts: int = 0,
) -> dict[str, Any]:
    """The webhook message for one group of alerts. ``max_alerts`` (0: no limit) keeps the first
    alerts and counts the others in ``truncatedAlerts``, as Alertmanager's ``max_alerts`` does;
    common labels and annotations are those of the alerts sent."""
    if not alerts:
        raise ValueError("a notification carries at least one alert")
    sent = list(alerts[:max_alerts] if max_alerts > 0 else alerts)
    labels = dict(group_labels or {})
    return {
        "receiver": receiver,
        "status": "firing" if any(alert.firing for alert in sent) else "resolved",
        "alerts": [alert_entry(alert) for alert in sent],
        "groupLabels": labels,
        "commonLabels": common([alert.labels for alert in sent]),
        "commonAnnotations": common([alert.annotations for alert in sent]),
        "externalURL": external_url,
        "version": VERSION,
        "groupKey": key if key is not None else group_key(labels),
        "truncatedAlerts": len(alerts) - len(sent),
    }
