"""Alerts as stored: each evaluation batch of a cluster becomes one transaction.

The evaluator decides (``Update``): which alerts entered a new state (a lifecycle ``Transition``),
which only changed their value or their inhibition, and whether the change is to be delivered.
Here that becomes rows: at most one unresolved ``alerts`` row per (cluster, fingerprint), a
resolved alert that holds again is a new row, a pending alert that stopped holding before it
fired is deleted (Prometheus forgets it too). A firing alert joins an incident of its cluster
and namespace (``grouping.group``) or opens one; its firing and resolution are lines of the
incident's timeline, and the incident's status follows ``grouping.incident_status``.

``load_open`` gives a cluster's unresolved alerts back, so the replica that evaluates a cluster
after a takeover or a restart continues their lifecycle (a firing alert stays the same row, with
its start) instead of starting them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.grouping import GroupInput, IncidentKey, group, incident_status
from app.alerts.lifecycle import DROPPED, FIRING, PENDING, RESOLVED, AlertState, Transition
from app.alerts.rules import Condition, ObjectRef
from app.db.alerts import Alert, Incident, IncidentEvent
from app.db.session import Database
from app.ids import new_id

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
UNRESOLVED = (PENDING, FIRING)
CHUNK = 500  # fingerprints per IN (...) list


@dataclass(frozen=True)
class ClusterRef:
    id: str
    tenant_id: str | None


@dataclass(frozen=True)
class RuleFacts:
    """What a row says about the rule behind it: a built-in rule's code or a tenant rule's ID."""

    rule: str
    name: str
    severity: str
    runbook: str


@dataclass(frozen=True)
class Update:
    """One alert to write. ``event`` names the change for its readers: PENDING, FIRING, RESOLVED,
    DROPPED (a transition's state entered) or UPDATED (same state: a new value, summary or
    inhibition). A FIRING without a transition is an alert that fired while muted and is now
    delivered. ``deliver`` is the evaluator's decision; ``silenced`` the silences muting it."""

    event: str
    condition: Condition
    facts: RuleFacts
    summary: str
    transition: Transition | None = None
    inhibited: bool = False
    silenced: tuple[str, ...] = ()
    deliver: bool = False


@dataclass(frozen=True)
class StoredChange:
    """A change as written, for delivery: ``alert`` is the row as a dict (ISO times with Z)."""

    event: str
    tenant_id: str | None
    cluster_id: str
    alert: dict[str, Any]
    deliver: bool
    inhibited: bool
    silenced: tuple[str, ...] = ()

    @property
    def alert_id(self) -> str:
        return str(self.alert["id"])

    @property
    def severity(self) -> str:
        return str(self.alert["severity"])


@dataclass(frozen=True)
class OpenAlert:
    """An unresolved alert read back: its lifecycle state and what it was about."""

    alert_id: str
    state: AlertState
    condition: Condition
    facts: RuleFacts
    summary: str
    inhibited: bool
    row: dict[str, Any] = field(default_factory=dict)  # as `alert_dict` gives it


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert_dict(row: Alert) -> dict[str, Any]:
    """Every column of the row, times as ISO 8601 strings with Z."""
    out: dict[str, Any] = {}
    for column in Alert.__table__.columns:
        value = getattr(row, column.key)
        out[column.key] = iso(value) if isinstance(value, datetime) else value
    return out


def condition_of(row: Alert) -> Condition:
    """The condition a stored row was raised for (labels without the cluster's, as fingerprinted)."""
    labels = {k: str(v) for k, v in (row.labels or {}).items() if k != "cluster_id"}
    ref = ObjectRef(row.object_kind, row.object_namespace, row.object_name)
    return Condition(row.rule, ref, labels, row.value)


def state_of(row: Alert) -> AlertState:
    return AlertState(row.fingerprint, row.rule, row.state, row.active_since, row.fired_at, row.resolved_at)


async def load_open(db: Database, cluster_id: str) -> list[OpenAlert]:
    """The cluster's pending and firing alerts, oldest first."""
    query = (select(Alert).where(Alert.cluster_id == cluster_id, Alert.state.in_(UNRESOLVED))
             .order_by(Alert.active_since, Alert.id))
    async with db.session() as session:
        rows = list((await session.execute(query)).scalars())
    seen: dict[str, OpenAlert] = {}
    for row in rows:  # should two ever exist, the oldest carries the lifecycle on
        facts = RuleFacts(row.rule, row.name, row.severity, row.runbook)
        seen.setdefault(row.fingerprint, OpenAlert(row.id, state_of(row), condition_of(row), facts, row.summary,
                                                   row.inhibited, alert_dict(row)))
    return list(seen.values())


async def record(db: Database, cluster: ClusterRef, updates: Sequence[Update], now: datetime) -> list[StoredChange]:
    """Write one evaluation batch of a cluster in one transaction; the changes as written, in order."""
    if not updates:
        return []
    async with db.transaction(cluster.tenant_id) as session:
        rows = await _unresolved(session, cluster.id, {u.condition.fingerprint for u in updates})
        incidents = _Incidents(session, cluster, now)
        changes = []
        for update in updates:
            change = await _write(session, cluster, rows, incidents, update, now)
            if change is not None:
                changes.append(change)
        await incidents.settle()
    return changes


async def _unresolved(session: AsyncSession, cluster_id: str, fingerprints: Iterable[str]) -> dict[str, Alert]:
    wanted = sorted(fingerprints)
    found: dict[str, Alert] = {}
    for start in range(0, len(wanted), CHUNK):
        query = (select(Alert).where(Alert.cluster_id == cluster_id, Alert.state.in_(UNRESOLVED),
                                     Alert.fingerprint.in_(wanted[start:start + CHUNK]))
                 .order_by(Alert.active_since, Alert.id))
        for row in (await session.execute(query)).scalars():
            found.setdefault(row.fingerprint, row)
    return found


async def _write(session: AsyncSession, cluster: ClusterRef, rows: dict[str, Alert], incidents: _Incidents,
                 update: Update, now: datetime) -> StoredChange | None:
    fingerprint = update.condition.fingerprint
    row = rows.get(fingerprint)
    transition = update.transition
    if transition is not None and transition.kind == DROPPED:
        if row is None:
            return None
        snapshot = alert_dict(row)
        await session.delete(row)
        del rows[fingerprint]
        return _change(update, cluster, {**snapshot, "state": DROPPED, "updated_at": iso(now)})
    if row is None:
        if transition is None or transition.state is None or transition.state.state == RESOLVED:
            return None  # nothing stored to change (a row removed by hand, a cluster deleted)
        row = _new_row(cluster, update, now)
        session.add(row)
        rows[fingerprint] = row
    _fill(row, update, now)
    if transition is not None and transition.state is not None:
        state = transition.state
        row.state = state.state
        row.fired_at = row.fired_at or state.fired_at
        row.resolved_at = state.resolved_at
        if state.state == FIRING and row.incident_id is None:
            await incidents.join(row, update, now)
        elif state.state == RESOLVED:
            await incidents.leave(row, now)
            del rows[fingerprint]
    return _change(update, cluster, alert_dict(row))


def _new_row(cluster: ClusterRef, update: Update, now: datetime) -> Alert:
    condition, state = update.condition, update.transition.state if update.transition else None
    ref = condition.ref
    return Alert(
        id=new_id("alert"), tenant_id=cluster.tenant_id, cluster_id=cluster.id, rule=update.facts.rule,
        fingerprint=condition.fingerprint, object_kind=ref.kind, object_namespace=ref.namespace,
        object_name=ref.name, topology_node_id=ref.topology_node_id,
        active_since=state.active_since if state is not None else now, created_at=now,
    )  # fmt: skip


def _fill(row: Alert, update: Update, now: datetime) -> None:
    condition, facts = update.condition, update.facts
    row.name, row.severity, row.runbook = facts.name[:200], facts.severity, facts.runbook
    row.summary = update.summary
    row.labels = dict(condition.labels_in(row.cluster_id))
    row.value = condition.value
    row.inhibited = update.inhibited
    row.updated_at = now


def _change(update: Update, cluster: ClusterRef, alert: dict[str, Any]) -> StoredChange:
    return StoredChange(update.event, cluster.tenant_id, cluster.id, alert, update.deliver, update.inhibited,
                        update.silenced)


class _Incidents:
    """The cluster's open incidents within one batch: joined, opened, and settled at the end."""

    def __init__(self, session: AsyncSession, cluster: ClusterRef, now: datetime) -> None:
        self.session, self.cluster, self.now = session, cluster, now
        self._open: dict[str, Incident] | None = None
        self._touched: set[str] = set()
        self._lines: list[IncidentEvent] = []

    async def _load(self) -> dict[str, Incident]:
        if self._open is None:
            query = select(Incident).where(Incident.cluster_id == self.cluster.id, Incident.status != RESOLVED)
            self._open = {row.id: row for row in (await self.session.execute(query)).scalars()}
        return self._open

    async def join(self, alert: Alert, update: Update, now: datetime) -> None:
        """A firing alert joins the incident of its namespace active within the window, or opens one."""
        incidents = await self._load()
        keys = [IncidentKey(i.id, i.cluster_id, i.namespace, i.last_activity_at, i.status) for i in incidents.values()]
        namespace = alert.object_namespace
        chosen = group(GroupInput(self.cluster.id, namespace, alert.fingerprint), keys, now)
        incident = incidents.get(chosen) if chosen is not None else None
        if incident is None:
            where = f"namespace {namespace}" if namespace else "the cluster"
            incident = Incident(
                id=new_id("incident"), tenant_id=self.cluster.tenant_id, cluster_id=self.cluster.id,
                namespace=namespace, title=f"{update.facts.name} in {where}"[:300], severity=alert.severity,
                status="open", opened_at=now, last_activity_at=now, created_at=now, updated_at=now,
            )  # fmt: skip
            self.session.add(incident)
            await self.session.flush()  # before any alert refers to it (rare: once per incident)
            incidents[incident.id] = incident
        elif SEVERITY_RANK.get(alert.severity, 0) > SEVERITY_RANK.get(incident.severity, 0):
            incident.severity = alert.severity
        alert.incident_id = incident.id
        self._line(incident, "alert_firing", alert, now)

    async def leave(self, alert: Alert, now: datetime) -> None:
        if alert.incident_id is None:
            return
        incident = (await self._load()).get(alert.incident_id) or await self.session.get(Incident, alert.incident_id)
        if incident is not None:
            self._line(incident, "alert_resolved", alert, now)

    def _line(self, incident: Incident, kind: str, alert: Alert | None, now: datetime) -> None:
        """A timeline line, written once the batch's alerts are (it refers to them)."""
        self._lines.append(IncidentEvent(
            id=new_id("incident_event"), tenant_id=incident.tenant_id, incident_id=incident.id, at=now, kind=kind,
            alert_id=alert.id if alert is not None else None,
            note=alert.summary[:2000] if alert is not None else "",
        ))  # fmt: skip
        incident.last_activity_at = now
        incident.updated_at = now
        self._touched.add(incident.id)

    async def settle(self) -> None:
        """The touched incidents' status from their alerts' states (after the batch's writes)."""
        if not self._touched:
            return
        await self.session.flush()
        query = select(Alert.incident_id, Alert.state).where(Alert.incident_id.in_(sorted(self._touched)))
        states: dict[str, list[str]] = {}
        for incident_id, state in (await self.session.execute(query)).all():
            states.setdefault(str(incident_id), []).append(str(state))
        for incident_id in sorted(self._touched):
            incident = (self._open or {}).get(incident_id) or await self.session.get(Incident, incident_id)
            if incident is None:
                continue
            status = incident_status(states.get(incident_id, []), incident.acknowledged_at is not None)
            if status == incident.status:
                continue
            incident.status = status
            if status == RESOLVED:
                incident.resolved_at = self.now
                self._line(incident, "resolved", None, self.now)
        self.session.add_all(self._lines)
