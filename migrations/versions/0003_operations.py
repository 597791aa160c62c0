"""operations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:58:51.924927
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_cluster_templates_tenant_name"),
    )
    with op.batch_alter_table("cluster_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_templates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "operations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index("ix_operations_claim", ["status", "lease_expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_operations_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_operations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "node_pools",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=True),
        sa.Column("max_count", sa.Integer(), nullable=True),
        sa.Column("instance_type", sa.String(length=100), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("taints", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cluster_id", "name", name="uq_node_pools_cluster_name"),
    )
    with op.batch_alter_table("node_pools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_node_pools_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_node_pools_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.String(length=40), nullable=True),
        sa.Column("read_at", app.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_notifications_user", ["user_id", "created_at"], unique=False)

    op.create_table(
        "operation_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("operation_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=60), nullable=True),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("operation_id", "seq", name="uq_operation_logs_seq"),
    )
    with op.batch_alter_table("operation_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operation_logs_operation_id"), ["operation_id"], unique=False)

    op.create_table(
        "topology_snapshots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("cluster_id", sa.String(length=40), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("graph", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("topology_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topology_snapshots_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_topology_snapshots_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=20), nullable=False, server_default="registered"))
        batch_op.add_column(sa.Column("spec", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("ssh_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", app.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_clusters_tenant_name"), type_="unique")
        batch_op.create_index(
            "uq_clusters_tenant_live_name",
            ["tenant_id", "name"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_clusters_tenant_live_name",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_clusters_tenant_name"), ["tenant_id", "name"])
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("ssh_sealed")
        batch_op.drop_column("spec")
        batch_op.drop_column("origin")

    with op.batch_alter_table("topology_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topology_snapshots_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_topology_snapshots_cluster_id"))

    op.drop_table("topology_snapshots")
    with op.batch_alter_table("operation_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_logs_operation_id"))

    op.drop_table("operation_logs")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user")
        batch_op.drop_index(batch_op.f("ix_notifications_tenant_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("node_pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_node_pools_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_node_pools_cluster_id"))

    op.drop_table("node_pools")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_operations_cluster_id"))
        batch_op.drop_index("ix_operations_claim")

    op.drop_table("operations")
    with op.batch_alter_table("cluster_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_templates_tenant_id"))

    op.drop_table("cluster_templates")
