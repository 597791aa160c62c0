"""Authorisation in one place: every protected field names what it needs here.

`requires("users:read")` builds a permission class that checks, in order: a valid
principal; the must-change-password gate; the permission itself; and that a `tenant_id`
argument names the caller's own tenant (another tenant answers NOT_FOUND, as a missing
one would). Row-level tenancy is then enforced by the scoped database session.

`requires_on_cluster("workloads:write")` does the same for the cluster a field's arguments
name: it must exist for the caller (NOT_FOUND otherwise, worded as for a missing ID) and the
caller's role on it (a per-cluster role replaces the tenant role there) must hold the
permission (FORBIDDEN otherwise). `requires_on_source_cluster` checks the role on the
cluster of the object being resolved (a Cluster's live fields, its insights). Clusters come
from the request's loader, so a check costs no query the field would not make anyway.

`READS` says what reading one object of each ID kind takes: the object's own field and
`node(id)` use the same declarations.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, ClassVar

from graphql import OperationType
from strawberry.permission import BasePermission
from strawberry.types import Info
from strawberry.utils.await_maybe import await_maybe

from app.context import RequestContext
from app.errors import Forbidden, NotFound
from app.ids import kind_of
from resolvers.cluster_access import check_cluster, visible_cluster
from resolvers.operations import find_operation
from resolvers.topology import find_snapshot

ClusterOf = Callable[[RequestContext, str], Awaitable[str | None]]
"""Maps an argument's ID (an operation's, a snapshot's) to the cluster it belongs to (None: no cluster)."""


def check(ctx: RequestContext, permissions: tuple[str, ...], *, during_password_change: bool, tenant_id: Any) -> None:
    principal = ctx.require_principal()
    if principal.must_change_password and not during_password_change:
        raise Forbidden("password change required: call changePassword first")
    for permission in permissions:
        if not principal.can(permission):
            raise Forbidden(f"your role '{principal.role}' lacks the '{permission}' permission")
    if tenant_id is not None and principal.tenant_id is not None and str(tenant_id) != principal.tenant_id:
        raise NotFound.of("tenant", str(tenant_id))


def requires(*permissions: str, during_password_change: bool = False) -> type[BasePermission]:
    """A permission class for fields that need a signed-in caller with `permissions`."""

    class Requires(BasePermission):
        message = "not allowed"

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            check(
                info.context,
                permissions,
                during_password_change=during_password_change,
                tenant_id=kwargs.get("tenant_id"),
            )
            return True

    Requires.__name__ = "Requires_" + ("_".join(p.replace(":", "_") for p in permissions) or "signin")
    return Requires


SignedIn = requires()
SignedInDuringPasswordChange = requires(during_password_change=True)


class ClusterPermission(BasePermission):
    """A per-cluster check; `permission`, `cluster_from` and `when` say what it checks, and where
    the cluster comes from, to whoever reads the schema (the isolation matrix enumerates them)."""

    message = "not allowed"
    permission: ClassVar[str]
    cluster_from: ClassVar[tuple[str, ...]]
    when: ClassVar[str | None] = None

    def applies(self, kwargs: dict[str, Any]) -> bool:
        """A conditional check (`when="include_data"`) applies only when that argument is set."""
        return self.when is None or bool(kwargs.get(self.when))


def _named(cls: type[ClusterPermission], permission: str, *places: str) -> None:
    """A name that says what the class checks, spelled as a GraphQL name (Strawberry names a directive after it)."""
    cls.__name__ = re.sub(r"\W", "_", "_".join((cls.__name__, permission, *places)))


def requires_on_cluster(
    permission: str, cluster: str | tuple[str, ...] = "cluster_id", *, via: ClusterOf | None = None,
    when: str | None = None,
) -> type[BasePermission]:
    """A permission class for fields whose arguments name a cluster: `cluster` is the argument, or a
    dotted path into an input (`left.cluster_id`; lists are walked: `namespaces.cluster_id`). A null
    argument names no cluster. With `via`, the argument is another object's ID (an operation's)
    and the check is on its cluster's role (the object's own loader answers NOT_FOUND)."""
    paths = (cluster,) if isinstance(cluster, str) else cluster

    class RequiresOnCluster(ClusterPermission):
        async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            ctx: RequestContext = info.context
            ctx.require_principal()
            if not self.applies(kwargs):
                return True
            async with _database_turn(info):
                for identifier in argument_ids(kwargs, paths):
                    if via is None:
                        await visible_cluster(ctx, identifier, permission)
                    elif (cluster_id := await via(ctx, identifier)) is not None:
                        await check_cluster(ctx, cluster_id, permission)
            return True

    RequiresOnCluster.permission, RequiresOnCluster.cluster_from, RequiresOnCluster.when = permission, paths, when
    _named(RequiresOnCluster, permission, *paths)
    return RequiresOnCluster


def requires_on_source_cluster(
    permission: str, attribute: str = "id", *, when: str | None = None
) -> type[BasePermission]:
    """A permission class for fields of an object of one cluster, whose `attribute` is that cluster's ID.
    The object was found by a field that already established the cluster exists for the caller."""

    class RequiresOnSourceCluster(ClusterPermission):
        async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            cluster_id = getattr(source, attribute, None)
            if cluster_id is not None and self.applies(kwargs):
                await check_cluster(info.context, str(cluster_id), permission)
            return True

    RequiresOnSourceCluster.permission, RequiresOnSourceCluster.when = permission, when
    RequiresOnSourceCluster.cluster_from = (f"source.{attribute}",)
    _named(RequiresOnSourceCluster, permission, attribute)
    return RequiresOnSourceCluster


def argument_ids(kwargs: dict[str, Any], paths: tuple[str, ...]) -> list[str]:
    """The IDs that `paths` name in a field's arguments, each once, in order."""
    found: dict[str, None] = {}
    for path in paths:
        found.update(dict.fromkeys(_walk(kwargs, path.split("."))))
    return list(found)


def _walk(value: Any, names: list[str]) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, names)
    elif not names:
        yield str(value)
    else:
        inner = value.get(names[0]) if isinstance(value, dict) else getattr(value, names[0], None)
        yield from _walk(inner, names[1:])


@contextlib.asynccontextmanager
async def _database_turn(info: Info) -> AsyncIterator[None]:
    """Subscribe-time checks wait their turn for the database, so a burst of subscribes queues rather than fails."""
    if info.operation.operation is OperationType.SUBSCRIPTION:
        async with info.context.services.handshakes:
            yield
    else:
        yield


async def operation_cluster(ctx: RequestContext, operation_id: str) -> str | None:
    return (await find_operation(ctx, operation_id)).cluster_id


async def snapshot_cluster(ctx: RequestContext, snapshot_id: str) -> str | None:
    return (await find_snapshot(ctx, snapshot_id)).cluster_id


ReadsCluster = requires_on_cluster("clusters:read", "id")
ReadsOperation = requires_on_cluster("clusters:read", "id", via=operation_cluster)

READS: dict[str, list[type[BasePermission]]] = {
    "tenant": [SignedIn],
    "user": [requires("users:read")],
    "role": [requires("roles:read")],
    "audit": [requires("audit:read")],
    "cluster": [SignedIn, ReadsCluster],
    "operation": [requires("clusters:read"), ReadsOperation],
    "template": [requires("clusters:read")],
}
"""What reading one object of each ID kind takes; the field of each kind declares the same list."""


class ReadsById(BasePermission):
    """`node(id)`: what the ID's kind takes to read (READS); one's own user needs nothing more."""

    message = "not allowed"
    table: ClassVar[dict[str, list[type[BasePermission]]]] = READS

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identifier = str(kwargs["id"])
        kind = kind_of(identifier)
        if kind is None or kind not in self.table:
            raise NotFound.of("object", identifier)
        principal = info.context.require_principal()
        if kind == "user" and identifier == principal.user_id:
            return True
        for permission_class in self.table[kind]:
            permission = permission_class()
            if not await await_maybe(permission.has_permission(source, info, **kwargs)):
                permission.on_unauthorized()
        return True
