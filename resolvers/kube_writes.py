"""Changing a cluster for the caller: its client, the caller's identity, and the audit row after success.

Every write is made as the signed-in person (Kubernetes impersonation, ``app.k8s.identity``), so
the cluster's own audit log names them, and is recorded in Fleetgraph's audit trail once the
cluster has accepted it. Objects are named in the audit as ``{clusterId}/{kind}/{namespace}/{name}``
(the namespace part is empty for cluster-scoped kinds).
"""

from __future__ import annotations

import contextlib
import secrets
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from app import audit, validation
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import BadUserInput, FieldErrors, NotFound
from app.k8s.client import ClusterClient, KindRef
from app.k8s.identity import acting_as
from loaders.clusters import ensure_registered

Obj = dict[str, Any]

_SUFFIX_CHARS = string.ascii_lowercase + string.digits


def target_id(cluster_id: str, kind: str, namespace: str | None, name: str) -> str:
    return f"{cluster_id}/{kind}/{namespace or ''}/{name}"


def meta(obj: Obj) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def suffix(length: int = 5) -> str:
    """Random lowercase letters and digits, as Kubernetes' generateName appends."""
    return "".join(secrets.choice(_SUFFIX_CHARS) for _ in range(length))


def require_confirm(confirm: bool, what: str) -> None:
    if not confirm:
        raise BadUserInput.field("confirm", f"must be true to delete {what}")


def require_replicas(replicas: int) -> None:
    errors = FieldErrors()
    validation.replicas(errors, "replicas", replicas)
    errors.raise_if_any()


def require_name(field: str, name: object, kind: str) -> None:
    """A name Kubernetes accepts for a ``kind``, where none is yet part of a request (a create's body)."""
    errors = FieldErrors()
    validation.kube_name(errors, field, name, kind)
    errors.raise_if_any()


def spec_replicas(errors: FieldErrors, field: str, obj: Any) -> None:
    """Bounds ``spec.replicas`` of an object or a merge patch, reported on ``{field}.spec.replicas``.

    A null in a merge patch removes the field (Kubernetes then defaults it), so it passes.
    """
    spec = obj.get("spec") if isinstance(obj, dict) else None
    if isinstance(spec, dict) and spec.get("replicas") is not None:
        validation.replicas(errors, f"{field}.spec.replicas" if field else "spec.replicas", spec["replicas"])


@dataclass
class ClusterWriter:
    """One cluster's client, used with the caller's identity bound, and the audit of what it changed."""

    ctx: RequestContext
    cluster: Cluster
    client: ClusterClient

    @property
    def cluster_id(self) -> str:
        return self.cluster.id

    async def get_or_none(self, kind: KindRef, namespace: str | None, name: str) -> Obj | None:
        try:
            return await self.client.get(kind, namespace, name)
        except NotFound:
            return None

    async def audit(self, action: str, kind: str, namespace: str | None, name: str, changes: dict[str, Any]) -> None:
        """The audit row of a change the cluster accepted."""
        async with self.ctx.db.transaction(self.ctx.scope) as session:
            audit.record(
                session,
                self.ctx.actor(),
                action,
                tenant_id=self.cluster.tenant_id,
                target_type=f"k8s/{kind}",
                target_id=target_id(self.cluster.id, kind, namespace, name),
                changes={"cluster": self.cluster.id, **changes},
            )


@contextlib.asynccontextmanager
async def writing(ctx: RequestContext, cluster: Cluster) -> AsyncIterator[ClusterWriter]:
    """The cluster's writer, with every call inside the block made as the caller."""
    ensure_registered(ctx.services.gateway, ctx.services.sealer, cluster)
    client = ctx.services.gateway.client(cluster.id)
    with acting_as(ctx.kube_identity()):
        yield ClusterWriter(ctx, cluster, client)


def deleted_pending(result: Obj) -> bool:
    """Whether a delete left the object in place, waiting for finalizers."""
    return result.get("kind") != "Status" and bool(meta(result).get("deletionTimestamp"))
