"""identity hardening: emails and usernames unique per tenant; resets may keep API tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.types  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LOGIN_COLUMNS = ("email", "username")
PROVIDER_ONLY = sa.text("tenant_id IS NULL")
# The initial schema left the global unique constraints unnamed: PostgreSQL named them itself,
# SQLite's are found by this convention when the table is rebuilt.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_global_uniques() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in LOGIN_COLUMNS:
            op.drop_constraint(f"users_{column}_key", "users", type_="unique")
        return
    with op.batch_alter_table("users", naming_convention=SQLITE_NAMES) as batch_op:
        for column in LOGIN_COLUMNS:
            batch_op.drop_constraint(f"uq_users_{column}", type_="unique")


def upgrade() -> None:
    _drop_global_uniques()
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in LOGIN_COLUMNS:
            batch_op.create_unique_constraint(f"uq_users_tenant_{column}", ["tenant_id", column])
            batch_op.create_index(
                f"uq_users_provider_{column}",
                [column],
                unique=True,
                sqlite_where=PROVIDER_ONLY,
                postgresql_where=PROVIDER_ONLY,
            )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoke_api_tokens", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_column("revoke_api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in LOGIN_COLUMNS:
            batch_op.drop_index(
                f"uq_users_provider_{column}", sqlite_where=PROVIDER_ONLY, postgresql_where=PROVIDER_ONLY
            )
            batch_op.drop_constraint(f"uq_users_tenant_{column}", type_="unique")
    if op.get_bind().dialect.name == "postgresql":
        for column in LOGIN_COLUMNS:
            op.create_unique_constraint(f"users_{column}_key", "users", [column])
        return
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in LOGIN_COLUMNS:
            batch_op.create_unique_constraint(f"uq_users_{column}", [column])
