"""The stored entities. Every tenant-owned row carries `tenant_id` (see app/db/tenancy.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, synonym

from app.db.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class TenantOwned:
    """Marker: rows whose visibility is limited to the caller's tenant."""

    tenant_id: Mapped[str | None] = mapped_column(String(40))


class TenantOrShared:
    """Marker: rows visible to their tenant, or to every tenant when `tenant_id` is NULL."""

    tenant_id: Mapped[str | None] = mapped_column(String(40))


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    admin_email: Mapped[str] = mapped_column(String(320))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # tier and limits may be cleared (NULL: no tier, no limit); a new tenant gets the default
    # unless made with None explicitly (evaluates_none: None is stored, not replaced by the default)
    subscription_tier: Mapped[str | None] = mapped_column(String(50).evaluates_none(), default="standard")
    max_users: Mapped[int | None] = mapped_column(Integer().evaluates_none(), default=50)
    max_clusters: Mapped[int] = mapped_column(Integer, default=10)
    max_modules: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


def _unique_where_no_tenant(name: str, column: str) -> Index:
    """Unique among rows without a tenant (tenant_id NULL, which a plain unique constraint treats as distinct)."""
    where = text("tenant_id IS NULL")
    return Index(name, column, unique=True, sqlite_where=where, postgresql_where=where)


def _provider_unique(column: str) -> Index:
    return _unique_where_no_tenant(f"uq_users_provider_{column}", column)


class User(TenantOwned, Base):
    """Emails and usernames are unique within a tenant (or among provider users), not across
    tenants: one address may belong to people of several customers, and no answer to one
    tenant tells whether another tenant has it."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_users_tenant_email"),
        UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),
        _provider_unique("email"),
        _provider_unique("username"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # stored lowercased
    username: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))  # kept in step with first/last name (below)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    avatar: Mapped[str | None] = mapped_column(String(2000))
    role: Mapped[str] = mapped_column(String(100))
    auth_provider: Mapped[str] = mapped_column(String(40), default="local", server_default="local")
    status: Mapped[str] = mapped_column(String(20), default="active")
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def split_name(name: str) -> tuple[str | None, str | None]:
    """A display name as first and last name: the first word, then the rest ('Ludwig van
    Beethoven' is 'Ludwig' and 'van Beethoven'); one word is a first name only."""
    words = name.split()
    if not words:
        return None, None
    return words[0][:100], " ".join(words[1:])[:100] or None


def join_name(first: str | None, last: str | None) -> str:
    return " ".join(part.strip() for part in (first, last) if part and part.strip())[:200]


@event.listens_for(User, "before_insert")
def _names_of_new_user(_: Mapper[User], __: Connection, user: User) -> None:
    """A user made with a display name only gets first and last names from it, and one made
    with first and last names only gets 'first last' as its display name."""
    if not user.name and (user.first_name or user.last_name):
        user.name = join_name(user.first_name, user.last_name)
    elif user.name and user.first_name is None and user.last_name is None:
        user.first_name, user.last_name = split_name(user.name)


@event.listens_for(User, "before_update")
def _names_kept_in_step(_: Mapper[User], __: Connection, user: User) -> None:
    """Whichever path changes a user's names (an admin, the user's own profile), a display
    name changed alone is split again, and first or last names changed alone make it anew."""
    attrs = inspect(user).attrs
    name_changed = attrs.name.history.has_changes()
    parts_changed = attrs.first_name.history.has_changes() or attrs.last_name.history.has_changes()
    if name_changed and not parts_changed:
        user.first_name, user.last_name = split_name(user.name)
    elif parts_changed and not name_changed:
        user.name = join_name(user.first_name, user.last_name) or user.name


class Role(TenantOrShared, Base):
    """A tenant's custom role (or, with tenant_id NULL, one the provider made for its staff).
    System roles are code (app/auth/rbac.py), never rows.

    A role's `code` is its machine name: what a user's `role` (and a per-cluster role) holds,
    unique among the roles any one tenant sees. Its `display_name` (the `name` column) is what
    people call it, any text."""

    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_roles_tenant_name"),
        UniqueConstraint("tenant_id", "code", name="uq_roles_tenant_code"),
        _unique_where_no_tenant("uq_roles_shared_code", "code"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    display_name: Mapped[str] = mapped_column("name", String(100))
    code: Mapped[str] = mapped_column(String(100))
    based_on: Mapped[str | None] = mapped_column(String(100))  # the system role it was made from
    description: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(String(20), default="tenant")
    permissions: Mapped[list[str]] = mapped_column(default=list)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # users hold a role by its code: `User.role == Role.name` compares codes
    name: Mapped[str] = synonym("code")


class ClusterRoleOverride(TenantOwned, Base):
    """A user's role on one cluster, replacing their tenant role there."""

    __tablename__ = "cluster_role_overrides"
    __table_args__ = (UniqueConstraint("user_id", "cluster_id", name="uq_cluster_role_user_cluster"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthSession(TenantOwned, Base):
    """A signed-in session: the family of its refresh tokens; revoking it ends them all."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    impersonator_id: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(100))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime] = mapped_column()


class ApiToken(TenantOwned, Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class PasswordReset(TenantOwned, Base):
    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    # whether completing the reset also ends the user's API tokens (the admin's choice when issuing it)
    revoke_api_tokens: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class AuditLog(TenantOwned, Base):
    """Append-only: rows are inserted, never updated or deleted (enforced in app/audit.py)."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(40), index=True)
    actor_email: Mapped[str | None] = mapped_column(String(320))
    impersonator_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target_type: Mapped[str | None] = mapped_column(String(60))
    target_id: Mapped[str | None] = mapped_column(String(200))
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the REST call the action came through (NULL for GraphQL and internal actions)
    http_method: Mapped[str | None] = mapped_column(String(10))
    http_path: Mapped[str | None] = mapped_column(String(500))
    http_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cluster(TenantOwned, Base):
    """A Kubernetes cluster registered to a tenant; its connection is stored encrypted."""

    __tablename__ = "clusters"
    __table_args__ = (
        Index(
            "uq_clusters_tenant_live_name",
            "tenant_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="connected")
    provider: Mapped[str] = mapped_column(String(20), default="other")
    region: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    context: Mapped[str | None] = mapped_column(String(200))
    server_url: Mapped[str] = mapped_column(String(500))
    connection_sealed: Mapped[str] = mapped_column(Text)
    kubeconfig_sealed: Mapped[str] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_connected_at: Mapped[datetime | None] = mapped_column(default=None)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    origin: Mapped[str] = mapped_column(String(20), default="registered", server_default="registered")
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what was asked for, no secrets
    ssh_sealed: Mapped[str | None] = mapped_column(Text)  # SSH credentials, encrypted
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class NodePool(TenantOwned, Base):
    __tablename__ = "node_pools"
    __table_args__ = (UniqueConstraint("cluster_id", "name", name="uq_node_pools_cluster_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    node_count: Mapped[int] = mapped_column(Integer)
    min_count: Mapped[int | None] = mapped_column(Integer)
    max_count: Mapped[int | None] = mapped_column(Integer)
    instance_type: Mapped[str | None] = mapped_column(String(100))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    taints: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Operation(TenantOwned, Base):
    """A durable unit of lifecycle work, run phase by phase by whichever replica claims it."""

    __tablename__ = "operations"
    __table_args__ = (Index("ix_operations_claim", "status", "lease_expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str | None] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    provider: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what finished phases left for later ones
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str | None] = mapped_column(String(40))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OperationLog(TenantOwned, Base):
    """Append-only: one line of an operation's log."""

    __tablename__ = "operation_logs"
    __table_args__ = (UniqueConstraint("operation_id", "seq", name="uq_operation_logs_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str | None] = mapped_column(String(60))
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClusterTemplate(TenantOwned, Base):
    __tablename__ = "cluster_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_cluster_templates_tenant_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(TenantOwned, Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20), default="info")
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(40))
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TopologySnapshot(TenantOwned, Base):
    """A stored topology (nodes and edges) to compare the live graph against later."""

    __tablename__ = "topology_snapshots"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    namespace: Mapped[str | None] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(100))
    graph: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The metrics store's and alerting's tables live in modules of their own; importing them here puts
# them on `Base.metadata` wherever the models are loaded (the migrations, their comparison test).
from app.db import alerts as _alerts  # noqa: E402,F401
from app.db import metrics as _metrics  # noqa: E402,F401
