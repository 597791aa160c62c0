"""Alert changes leaving the evaluator: the live channel, users' notifications, receivers, Alertmanager.

The evaluator hands each stored batch to ``submit`` and goes on: everything here runs in this
worker's own tasks, so evaluation never waits on a receiver.

- Every change is published on ``alerts_channel(tenant)``:
  ``{"type": "PENDING"|"FIRING"|"RESOLVED"|"DROPPED"|"UPDATED", "id", "clusterId", "alert": {...the
  row, ISO times}, "delivered": bool, "silencedBy": [silence IDs], "inhibited": bool}``, so live
  lists stay current, muted alerts included. (Acknowledgements are published by the resolver that
  records them, as ``ACKNOWLEDGED``.)
- A change to deliver (FIRING, RESOLVED; not muted, as the evaluator decided) notifies the tenant's
  users who ask for it and may read the cluster, posts to the tenant's enabled receivers whose
  ``min_severity`` it meets, and is forwarded to the operator's Alertmanager when one is set.

The preference, in ``users.preferences``::

    {"alerts": {"notify": true, "minSeverity": "warning"}}

``notify`` (default false) turns the user's alert notifications on; ``minSeverity`` (``info``,
``warning`` or ``critical``; default ``warning``) is the least severe alert notified.

Each receiver gets one webhook message (Alertmanager's format, signed with the receiver's secret,
unsealed here only for the request) per alert change, in order per receiver, recorded as an
``alert_deliveries`` row: ``pending`` when written, then ``delivered`` or ``failed`` with the
attempts made, the last HTTP status and an error text that never holds the secret or the URL's
query. Alertmanager also hears every firing alert again each ``resend_seconds`` (it resolves an
alert it has not heard of within its ``resolve_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from app.alerts.alertmanager import AlertmanagerForwarder
from app.alerts.channels import alerts_channel
from app.alerts.payloads import OutgoingAlert, label_fingerprint, webhook_payload
from app.alerts.store import SEVERITY_RANK, StoredChange
from app.alerts.webhooks import DeliveryResult, WebhookSender
from app.auth.rbac import SYSTEM_ROLES, has_permission
from app.crypto import DecryptionError, Sealer
from app.db.alerts import AlertDelivery as DeliveryRow
from app.db.alerts import AlertReceiver
from app.db.models import ClusterRoleOverride, Role, User
from app.db.session import Database
from app.db.types import utcnow
from app.ids import new_id
from app.notifications import notify
from app.outbound import OutboundPolicy
from app.realtime.bus import RealtimeBus
from app.settings import Settings

log = logging.getLogger("fleetgraph.alerts")
RECEIVER_SECRET_PURPOSE = "alert-receiver"  # the Sealer purpose receivers' secrets are sealed under
PREFERENCE = "alerts"
DEFAULT_MIN_SEVERITY = "warning"
DELIVERED = frozenset({"FIRING", "RESOLVED"})
UNPUBLISHED = frozenset({"RESTORED"})  # an open alert read back by a new owner: nothing changed
READ_ALERTS = "clusters:read"
NOTIFICATION_SEVERITY = {"critical": "error", "warning": "warning", "info": "info"}
_FROM_SETTINGS: Any = object()


def message(change: StoredChange) -> dict[str, Any]:
    """What the live channel carries for one change."""
    return {"type": change.event, "id": change.alert_id, "clusterId": change.cluster_id, "alert": change.alert,
            "delivered": change.deliver, "silencedBy": list(change.silenced), "inhibited": change.inhibited}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


def outgoing(alert: Mapping[str, Any]) -> OutgoingAlert:
    """A stored alert (as ``alert_dict`` gives it) as it is sent; it starts when it fired."""
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    resolved = alert.get("state") == "resolved"
    annotations = {"summary": str(alert.get("summary") or ""), "runbook": str(alert.get("runbook") or ""),
                   "alert_id": str(alert["id"]), "topology_node_id": str(alert.get("topology_node_id") or "")}
    starts = _time(alert.get("fired_at")) or _time(alert.get("active_since")) or utcnow()
    return OutgoingAlert(label_fingerprint(labels), "resolved" if resolved else "firing", labels, annotations,
                         starts, _time(alert.get("resolved_at")) if resolved else None, "")


def wants(preferences: Mapping[str, Any] | None, severity: str) -> bool:
    """Whether a user's preferences ask for a notification of an alert of this severity."""
    chosen = (preferences or {}).get(PREFERENCE)
    if not isinstance(chosen, dict) or chosen.get("notify") is not True:
        return False
    least = chosen.get("minSeverity", DEFAULT_MIN_SEVERITY)
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(str(least), SEVERITY_RANK[DEFAULT_MIN_SEVERITY])


class AlertDelivery:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: RealtimeBus,
        *,
        sender: WebhookSender | None = None,
        forwarder: AlertmanagerForwarder | None = _FROM_SETTINGS,
        sealer: Sealer | None = None,
        concurrency: int = 16,
        resend_seconds: float = 60.0,
    ) -> None:
        self.settings, self.db, self.bus = settings, db, bus
        self.sender = sender or WebhookSender(OutboundPolicy.from_settings(settings))
        self.forwarder = AlertmanagerForwarder.from_settings(settings) if forwarder is _FROM_SETTINGS else forwarder
        self.sealer = sealer or Sealer(settings.secret(), RECEIVER_SECRET_PURPOSE)
        self.resend_seconds = resend_seconds
        self._queue: asyncio.Queue[list[StoredChange]] = asyncio.Queue()
        self._slots = asyncio.Semaphore(concurrency)
        self._order: dict[str, asyncio.Lock] = {}  # one receiver's messages go out in order
        self._sending: set[asyncio.Task[None]] = set()
        self._firing: dict[tuple[str, str], OutgoingAlert] = {}  # what Alertmanager must keep hearing
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name="alerts-deliver")]
        if self.forwarder is not None:
            self._tasks.append(asyncio.create_task(self._resend(), name="alerts-alertmanager"))

    async def stop(self) -> None:
        """Stop at once: a message being sent is abandoned (its row stays ``pending``); the sender and
        the forwarder are closed."""
        tasks, self._tasks = [*self._tasks, *self._sending], []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.close()
        if self.forwarder is not None:
            await self.forwarder.close()

    async def submit(self, changes: Sequence[StoredChange]) -> None:
        """Take a batch of stored changes (an evaluator listener); returns at once."""
        if changes:
            self._queue.put_nowait(list(changes))

    async def idle(self) -> None:
        """Return once everything submitted so far has been published, notified and sent (or failed)."""
        while True:
            await self._queue.join()
            if not self._sending:
                return
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    # -- the worker --------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            changes = await self._queue.get()
            try:
                await self._handle(changes)
            except Exception:  # the next batch must still go out
                log.exception("delivering alert changes failed")
            finally:
                self._queue.task_done()

    async def _handle(self, changes: list[StoredChange]) -> None:
        for change in changes:
            self._track(change)
            if change.event not in UNPUBLISHED:
                await self.bus.publish(alerts_channel(change.tenant_id), message(change))
        chosen = [c for c in changes if c.deliver and c.event in DELIVERED]
        if not chosen:
            return
        by_tenant: dict[str | None, list[StoredChange]] = {}
        for change in chosen:
            by_tenant.setdefault(change.tenant_id, []).append(change)
        for tenant_id, batch in by_tenant.items():
            await self._notify_users(tenant_id, batch)
            await self._post(tenant_id, batch)
        if self.forwarder is not None:
            self._spawn(self._forward([outgoing(c.alert) for c in chosen]))

    def _track(self, change: StoredChange) -> None:
        key = (change.cluster_id, str(change.alert.get("fingerprint")))
        if change.event in ("RESTORED", "FIRING") and (change.deliver or change.event == "RESTORED"):
            self._firing[key] = outgoing(change.alert)
        elif change.event in ("RESOLVED", "DROPPED"):
            self._firing.pop(key, None)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    # -- users ---------------------------------------------------------------------------------------

    async def _notify_users(self, tenant_id: str | None, changes: list[StoredChange]) -> None:
        if tenant_id is None:
            return
        async with self.db.session(tenant_id) as session:
            users = [u for u in (await session.execute(
                select(User).where(User.tenant_id == tenant_id, User.status == "active"))).scalars()
                if isinstance(u.preferences, dict) and PREFERENCE in u.preferences]
            if not users:
                return
            overrides = {(o.user_id, o.cluster_id): o.role for o in (await session.execute(
                select(ClusterRoleOverride).where(ClusterRoleOverride.user_id.in_([u.id for u in users])))).scalars()}
            roles = {r.code: frozenset(r.permissions or []) for r in (await session.execute(select(Role))).scalars()}
        for change in changes:
            for user in users:
                role = overrides.get((user.id, change.cluster_id), user.role)
                permissions = SYSTEM_ROLES[role].permissions if role in SYSTEM_ROLES else roles.get(role, frozenset())
                if not has_permission(permissions, READ_ALERTS) or not wants(user.preferences, change.severity):
                    continue
                await self._notify(user, change)

    async def _notify(self, user: User, change: StoredChange) -> None:
        alert = change.alert
        word = "Firing" if change.event == "FIRING" else "Resolved"
        try:
            await notify(self.db, self.bus, tenant_id=change.tenant_id, user_id=user.id,
                         kind=f"alert.{change.event.lower()}", title=f"{word}: {alert.get('name')}",
                         message=str(alert.get("summary") or ""),
                         severity=NOTIFICATION_SEVERITY.get(change.severity, "info") if word == "Firing" else "info",
                         target=("alert", change.alert_id))
        except Exception:
            log.exception("notifying user %s of alert %s failed", user.id, change.alert_id)

    # -- receivers -----------------------------------------------------------------------------------

    async def _post(self, tenant_id: str | None, changes: list[StoredChange]) -> None:
        async with self.db.transaction(tenant_id) as session:
            query = select(AlertReceiver).where(AlertReceiver.tenant_id == tenant_id, AlertReceiver.enabled.is_(True))
            receivers = list((await session.execute(query.order_by(AlertReceiver.id))).scalars())
            planned = []
            for change in changes:
                for receiver in receivers:
                    if SEVERITY_RANK.get(change.severity, 0) < SEVERITY_RANK.get(receiver.min_severity, 0):
                        continue
                    row = DeliveryRow(id=new_id("alert_delivery"), tenant_id=tenant_id, receiver_id=receiver.id,
                                      alert_id=change.alert_id, status="pending",
                                      alert_status=change.event.lower(), attempts=0, created_at=utcnow())
                    session.add(row)
                    planned.append((row.id, receiver, change))
        for row_id, receiver, change in planned:
            self._spawn(self._send(row_id, receiver, change))

    async def _send(self, row_id: str, receiver: AlertReceiver, change: StoredChange) -> None:
        lock = self._order.setdefault(receiver.id, asyncio.Lock())
        async with lock, self._slots:
            try:
                secret = self.sealer.open(receiver.secret_sealed)
            except DecryptionError:
                result = DeliveryResult(False, 0, None, "the receiver's secret cannot be decrypted with this key")
            else:
                labels = outgoing(change.alert).labels
                group = {k: labels[k] for k in ("alertname", "cluster_id") if k in labels}
                payload = webhook_payload(receiver.name, [outgoing(change.alert)], external_url="", group_labels=group)
                try:
                    result = await self.sender.send(receiver.url, secret, payload)
                except Exception:
                    log.exception("posting alert %s to receiver %s failed", change.alert_id, receiver.id)
                    result = DeliveryResult(False, 1, None, "the message could not be sent")
            await self._record(row_id, result)

    async def _record(self, row_id: str, result: DeliveryResult) -> None:
        values: dict[str, Any] = {"status": "delivered" if result.delivered else "failed",
                                  "attempts": result.attempts, "response_status": result.status,
                                  "error": (result.error or "")[:2000]}
        if result.delivered:
            values["delivered_at"] = utcnow()
        async with self.db.transaction() as session:
            await session.execute(update(DeliveryRow).where(DeliveryRow.id == row_id).values(**values))

    # -- Alertmanager --------------------------------------------------------------------------------

    async def _forward(self, alerts: Iterable[OutgoingAlert]) -> None:
        assert self.forwarder is not None
        result = await self.forwarder.forward(list(alerts))
        if not result.delivered:
            log.warning("forwarding alerts to Alertmanager failed: %s", result.error)

    async def _resend(self) -> None:
        while True:
            await asyncio.sleep(self.resend_seconds)
            if self._firing:
                with contextlib.suppress(Exception):
                    await self._forward(list(self._firing.values()))
