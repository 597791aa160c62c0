"""Incidents: firing alerts of one cluster and namespace, close together in time, are one incident.

An alert that starts firing joins the open incident of its (cluster_id, namespace) whose last activity
(its latest alert joining or changing) is at most `window` ago; otherwise it opens a new incident.
Cluster-scoped alerts (nodes, the cluster itself) group under namespace None. An incident is resolved
once all its alerts are, and acknowledged when someone has acknowledged it and it is not resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.alerts.lifecycle import RESOLVED

WINDOW = timedelta(minutes=10)
OPEN, ACKNOWLEDGED = "open", "acknowledged"


@dataclass(frozen=True)
class GroupInput:
    """An alert that starts firing (pending alerts open no incident)."""

    cluster_id: str
    namespace: str | None
    fingerprint: str = ""


@dataclass(frozen=True)
class IncidentKey:
    id: str
    cluster_id: str
    namespace: str | None
    last_activity: datetime
    status: str = OPEN  # "open" | "acknowledged" | "resolved"


def group(alert: GroupInput, open_incidents: Sequence[IncidentKey], now: datetime,
          window: timedelta = WINDOW) -> str | None:
    """The incident the alert joins, or None when it needs a new one. Among several candidates the one
    with the latest activity wins; a resolved incident is never joined."""
    candidates = [incident for incident in open_incidents
                  if incident.status != RESOLVED and incident.cluster_id == alert.cluster_id
                  and incident.namespace == alert.namespace and now - incident.last_activity <= window]
    if not candidates:
        return None
    return max(candidates, key=lambda incident: (incident.last_activity, incident.id)).id


def incident_status(alert_states: Iterable[str], acknowledged: bool) -> str:
    """"resolved" when all its alerts are resolved, else "acknowledged" if acknowledged, else "open"."""
    if all(state == RESOLVED for state in alert_states):
        return RESOLVED
    return ACKNOWLEDGED if acknowledged else OPEN
