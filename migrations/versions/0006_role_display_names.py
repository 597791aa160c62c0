"""roles: a display name apart from the code, which is what users hold; the system role a role
was made from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-11 10:00:00.000000

A role's `name` becomes what people call it (any text) and its `code` the machine name users
and per-cluster roles hold it by. Until now they held it by its name, which was a machine name
too and, unless the role was made with a code of its own, the same as its code: the holders of
a role whose code differs from its name now hold the code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.types  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

HOLDERS = ("users", "cluster_role_overrides")  # tables whose `role` names a role


def _roles() -> sa.TableClause:
    text = sa.String()
    columns = (sa.column(name, text) for name in ("id", "tenant_id", "name", "code"))
    return sa.table("roles", *columns)


def _holders_follow_codes() -> None:
    """Each holder of a role whose code is not its name gets the code, computed from the names
    as they were (so that a role named like another one's code cannot pass its holders on)."""
    bind = op.get_bind()
    roles = _roles()
    found = bind.execute(sa.select(roles.c.tenant_id, roles.c.name, roles.c.code).where(roles.c.name != roles.c.code))
    codes = {(tenant, name): code for tenant, name, code in found}
    if not codes:
        return
    names = sorted({name for _, name in codes})
    for table in HOLDERS:
        holders = sa.table(table, sa.column("id"), sa.column("tenant_id"), sa.column("role"))
        rows = bind.execute(
            sa.select(holders.c.id, holders.c.tenant_id, holders.c.role).where(holders.c.role.in_(names))
        )
        for row_id, tenant, role in rows.all():
            code = codes.get((tenant, role))
            if code is not None:
                bind.execute(holders.update().where(holders.c.id == row_id).values(role=code))


def _names_become_codes() -> None:
    """Every name is its role's code again; in two steps, so that no step makes two roles of a
    tenant share a name (codes are unique in a tenant, names of the roles changed are not yet)."""
    roles = _roles()
    bind = op.get_bind()
    differs = roles.c.name != roles.c.code
    bind.execute(roles.update().where(differs).values(name=sa.literal("#") + roles.c.id))
    bind.execute(roles.update().where(differs).values(name=roles.c.code))


def upgrade() -> None:
    op.add_column("roles", sa.Column("based_on", sa.String(length=100), nullable=True))
    _holders_follow_codes()


def downgrade() -> None:
    # the holders already hold codes, which the names become; display names are not kept
    _names_become_codes()
    with op.batch_alter_table("roles", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("based_on")
