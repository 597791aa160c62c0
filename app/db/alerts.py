"""Alerting's tables: tenant rules, alerts, silences, webhook receivers and deliveries, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, TenantOwned
from app.db.types import utcnow


class AlertRule(TenantOwned, Base):
    """A tenant's own rule: a metric threshold over its clusters (one cluster, or all when NULL)."""

    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str | None] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)  # PromQL giving one value per series
    comparison: Mapped[str] = mapped_column(String(2))  # > >= < <=
    threshold: Mapped[float] = mapped_column(Float)
    for_seconds: Mapped[int] = mapped_column(Integer, default=0)
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    summary: Mapped[str] = mapped_column(Text, default="")
    runbook: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(TenantOwned, Base):
    """One episode of a rule holding for one object: pending, then firing, then resolved.

    At most one unresolved alert exists per (cluster, fingerprint); holding again after it
    resolved starts a new row."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_fingerprint", "cluster_id", "fingerprint", "state"),
        Index("ix_alerts_tenant_state", "tenant_id", "state", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(100))  # a built-in rule's code, or a tenant rule's ID
    name: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # pending | firing | resolved
    summary: Mapped[str] = mapped_column(Text, default="")
    runbook: Mapped[str] = mapped_column(Text, default="")
    object_kind: Mapped[str] = mapped_column(String(100))
    object_namespace: Mapped[str | None] = mapped_column(String(253))
    object_name: Mapped[str] = mapped_column(String(253))
    topology_node_id: Mapped[str] = mapped_column(String(700))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    value: Mapped[float | None] = mapped_column(Float)
    inhibited: Mapped[bool] = mapped_column(Boolean, default=False)
    active_since: Mapped[datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledgement_note: Mapped[str] = mapped_column(Text, default="")
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Silence(TenantOwned, Base):
    """Alerts whose labels match every matcher are not delivered between `starts_at` and `ends_at`."""

    __tablename__ = "silences"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertReceiver(TenantOwned, Base):
    """A tenant's webhook: alerts are posted there in Alertmanager's webhook format, signed."""

    __tablename__ = "alert_receivers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    secret_sealed: Mapped[str] = mapped_column(Text)  # the HMAC signing secret, encrypted
    min_severity: Mapped[str] = mapped_column(String(20), default="info")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertDelivery(TenantOwned, Base):
    """One alert change sent (or being sent) to one receiver."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_receiver", "receiver_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    receiver_id: Mapped[str] = mapped_column(ForeignKey("alert_receivers.id", ondelete="CASCADE"))
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    alert_status: Mapped[str] = mapped_column(String(20))  # firing | resolved
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class Incident(TenantOwned, Base):
    """Firing alerts of one cluster and namespace, close together in time, as one thing to handle."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_tenant_status", "tenant_id", "status", "updated_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    namespace: Mapped[str | None] = mapped_column(String(253))
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | acknowledged | resolved
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IncidentEvent(TenantOwned, Base):
    """One line of an incident's timeline: an alert firing or resolving, an acknowledgement."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident", "incident_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(
        String(40)
    )  # alert_pending | alert_firing | alert_resolved | acknowledged | resolved
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
