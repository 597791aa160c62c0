"""people's first and last names and sign-in provider, role codes, clearable tenant tier and
limits with a module limit, and the REST call on audit rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

import app.db.types  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SHARED_ONLY = sa.text("tenant_id IS NULL")
# what a tenant without a tier or limit gets back on downgrade: the defaults new tenants get
TENANT_DEFAULTS = {"subscription_tier": "'standard'", "max_users": "50"}


# SQLite cannot alter a column; a batch rebuild drops the old table, which fails (or cascades)
# while other tables' rows refer to it, and nearly every table refers to `tenants`. So its
# columns are redefined in place, by SQLite's procedure for changes that leave every stored row
# as it is (https://sqlite.org/lang_altertable.html#otheralter): NOT NULL dropped, a declared
# type of the same affinity, and on downgrade NOT NULL again once no NULL is left. The schema
# version is bumped so that every open connection reads the new definition.
TENANT_COLUMNS_NOW = {"subscription_tier": "subscription_tier VARCHAR(50)", "max_users": "max_users INTEGER"}
TENANT_COLUMNS_BEFORE = {
    "subscription_tier": "subscription_tier VARCHAR(40) NOT NULL",
    "max_users": "max_users INTEGER NOT NULL",
}


def _redefine_sqlite_columns(table: str, definitions: dict[str, str]) -> None:
    bind = op.get_bind()
    query = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"
    sql = bind.exec_driver_sql(query, (table,)).scalar_one()
    for column, definition in definitions.items():
        sql, found = re.subn(rf"(?m)^(\s*){column} [^,\n]*", rf"\g<1>{definition}", sql)
        if found != 1:
            raise RuntimeError(f"column {table}.{column} not found once in its table's definition")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _tenant_tier_and_limits(nullable: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _redefine_sqlite_columns("tenants", TENANT_COLUMNS_NOW if nullable else TENANT_COLUMNS_BEFORE)
        return
    old, new = (40, 50) if nullable else (50, 40)
    op.alter_column(
        "tenants", "subscription_tier", existing_type=sa.String(length=old), type_=sa.String(length=new),
        nullable=nullable,
    )  # fmt: skip
    op.alter_column("tenants", "max_users", existing_type=sa.Integer(), nullable=nullable)


def _split(name: str) -> tuple[str | None, str | None]:
    """The first word, then the rest: as app.db.models.split_name splits names at the time of
    this revision."""
    words = name.split()
    if not words:
        return None, None
    return words[0][:100], " ".join(words[1:])[:100] or None


def _backfill_names() -> None:
    users = sa.table("users", sa.column("id"), sa.column("name"), sa.column("first_name"), sa.column("last_name"))
    bind = op.get_bind()
    for user_id, name in bind.execute(sa.select(users.c.id, users.c.name)).all():
        first, last = _split(name or "")
        bind.execute(users.update().where(users.c.id == user_id).values(first_name=first, last_name=last))


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("last_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("auth_provider", sa.String(length=40), nullable=False, server_default="local"))
    _backfill_names()

    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=100), nullable=True))
    op.execute("UPDATE roles SET code = name")  # custom role names are already machine names
    with op.batch_alter_table("roles", schema=None) as batch_op:  # no table refers to roles
        batch_op.alter_column("code", existing_type=sa.String(length=100), nullable=False)
        batch_op.create_unique_constraint("uq_roles_tenant_code", ["tenant_id", "code"])
        batch_op.create_index(
            "uq_roles_shared_code", ["code"], unique=True, sqlite_where=SHARED_ONLY, postgresql_where=SHARED_ONLY
        )

    _tenant_tier_and_limits(nullable=True)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_modules", sa.Integer(), nullable=True))

    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("http_method", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("http_path", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("http_status", sa.Integer(), nullable=True))


def downgrade() -> None:
    # plain columns are dropped in place (SQLite 3.35+): rebuilding `users` would cascade
    with op.batch_alter_table("audit_logs", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("http_status")
        batch_op.drop_column("http_path")
        batch_op.drop_column("http_method")

    for column, default in TENANT_DEFAULTS.items():
        op.execute(f"UPDATE tenants SET {column} = {default} WHERE {column} IS NULL")
    op.execute("UPDATE tenants SET subscription_tier = substr(subscription_tier, 1, 40)")
    with op.batch_alter_table("tenants", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("max_modules")
    _tenant_tier_and_limits(nullable=False)

    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_index("uq_roles_shared_code", sqlite_where=SHARED_ONLY, postgresql_where=SHARED_ONLY)
        batch_op.drop_constraint("uq_roles_tenant_code", type_="unique")
        batch_op.drop_column("code")

    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("auth_provider")
        batch_op.drop_column("last_name")
        batch_op.drop_column("first_name")
