"""observability: the embedded metrics store (series, packed samples), alert rules, alerts,
silences, webhook receivers and their deliveries, incidents and their timelines

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:26:04.713846

Only new tables: nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.types  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_receivers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("min_severity", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_receivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_receivers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "silences",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_silences_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "alert_rules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("for_seconds", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("runbook", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_rules_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("resolved_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_incidents_tenant_status", ["tenant_id", "status", "updated_at"], unique=False)

    op.create_table(
        "metric_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=False),
        sa.Column("at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("series", sa.LargeBinary(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cluster_id", "step", "at", name="uq_metric_samples_moment"),
    )
    with op.batch_alter_table("metric_samples", schema=None) as batch_op:
        batch_op.create_index("ix_metric_samples_range", ["cluster_id", "step", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_samples_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cluster_id", "key", name="uq_metric_series_key"),
    )
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metric_series_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("runbook", sa.Text(), nullable=False),
        sa.Column("object_kind", sa.String(length=100), nullable=False),
        sa.Column("object_namespace", sa.String(length=253), nullable=True),
        sa.Column("object_name", sa.String(length=253), nullable=False),
        sa.Column("topology_node_id", sa.String(length=700), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("inhibited", sa.Boolean(), nullable=False),
        sa.Column("active_since", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("acknowledgement_note", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_fingerprint", ["cluster_id", "fingerprint", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_alerts_tenant_state", ["tenant_id", "state", "updated_at"], unique=False)

    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("receiver_id", sa.String(length=40), nullable=False),
        sa.Column("alert_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("alert_status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["receiver_id"], ["alert_receivers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_alert_deliveries_receiver", ["receiver_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_deliveries_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "incident_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("alert_id", sa.String(length=40), nullable=True),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.create_index("ix_incident_events_incident", ["incident_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_events_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_events_tenant_id"))
        batch_op.drop_index("ix_incident_events_incident")

    op.drop_table("incident_events")
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_tenant_id"))
        batch_op.drop_index("ix_alert_deliveries_receiver")

    op.drop_table("alert_deliveries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_tenant_state")
        batch_op.drop_index(batch_op.f("ix_alerts_tenant_id"))
        batch_op.drop_index("ix_alerts_fingerprint")

    op.drop_table("alerts")
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_series_tenant_id"))

    op.drop_table("metric_series")
    with op.batch_alter_table("metric_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_samples_tenant_id"))
        batch_op.drop_index("ix_metric_samples_range")

    op.drop_table("metric_samples")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_tenant_status")
        batch_op.drop_index(batch_op.f("ix_incidents_tenant_id"))

    op.drop_table("incidents")
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rules_tenant_id"))

    op.drop_table("alert_rules")
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_silences_tenant_id"))

    op.drop_table("silences")
    with op.batch_alter_table("alert_receivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_receivers_tenant_id"))

    op.drop_table("alert_receivers")
