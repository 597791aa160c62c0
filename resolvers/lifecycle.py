"""Cluster lifecycle: create (and provision), scale, upgrade, delete or deprovision, drain and remove nodes.

Each change that takes time is an operation queued in the same transaction as the records it
changes, so a failure leaves neither a cluster without its operation nor the reverse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit, validation
from app.context import RequestContext
from app.db.models import Cluster, NodePool, Operation
from app.db.types import utcnow
from app.errors import BadUserInput, Conflict, FieldErrors, NotFound
from app.ids import new_id
from app.operations import specs, store
from app.operations.runner import OperationRunner
from app.outbound import OutboundPolicy, request_budget
from app.provisioning.models import PreflightResult, SshCredentials, SshNode
from app.provisioning.ssh import preflight_all
from resolvers.clusters import check_capacity
from resolvers.common import get_or_404

PROVIDER_OF_ORIGIN = {"simulated": "kubesim", "ssh": "on-premises"}


@dataclass
class Created:
    cluster: Cluster
    operation: Operation | None


async def create_cluster(ctx: RequestContext, tenant_id: str, spec: specs.ClusterSpec) -> Created:
    async with ctx.db.transaction(ctx.scope) as session:
        await check_capacity(session, tenant_id, spec.name)
        secrets = spec.secrets()
        cluster = Cluster(
            id=new_id("cluster"),
            tenant_id=tenant_id,
            name=spec.name,
            description=spec.description or "",
            status="pending",
            provider=PROVIDER_OF_ORIGIN[spec.provider],
            version="v" + spec.version,
            tags=dict(spec.tags or {}),
            server_url="",
            connection_sealed="",
            kubeconfig_sealed="",
            created_by=ctx.principal_id,
            origin="provisioned",
            spec=spec.public(),
            ssh_sealed=ctx.services.sealer.seal(json.dumps(secrets)) if secrets else None,
        )
        session.add(cluster)
        for pool in spec.node_pools:
            session.add(
                NodePool(
                    id=new_id("node_pool"),
                    tenant_id=tenant_id,
                    cluster_id=cluster.id,
                    name=pool.name,
                    node_count=pool.count,
                    min_count=pool.min_count,
                    max_count=pool.max_count,
                    instance_type=pool.instance_type,
                    labels=dict(pool.labels or {}),
                    taints=list(pool.taints or []),
                )
            )
        audit.record(
            session,
            ctx.actor(),
            "cluster.created",
            tenant_id=tenant_id,
            target_type="cluster",
            target_id=cluster.id,
            changes={"name": spec.name, "version": spec.version, "provider": spec.provider},
        )
        operation = None
        if spec.provision_immediately:
            cluster.status = "provisioning"
            params = {"version": spec.version, "spec": spec.public()}
            operation = _enqueue(session, ctx, cluster, "provision", spec.provider, params)
    _wake(ctx)
    return Created(cluster, operation)


async def provision(ctx: RequestContext, cluster_id: str) -> Operation:
    """Starts provisioning a cluster that was created without `provisionImmediately`."""
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await _managed(session, cluster_id)
        if cluster.status not in ("pending", "failed"):
            raise Conflict(f"the cluster is {cluster.status}; only a pending or failed cluster can be provisioned")
        await _idle(session, cluster.id)
        cluster.status = "provisioning"
        params = {"version": str(cluster.spec.get("version")), "spec": cluster.spec}
        operation = _enqueue(session, ctx, cluster, "provision", _provider(cluster), params)
    _wake(ctx)
    return operation


async def node_pools(ctx: RequestContext, cluster_id: str) -> list[NodePool]:
    query = select(NodePool).where(NodePool.cluster_id == cluster_id).order_by(NodePool.name)
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query)).scalars())


async def scale(ctx: RequestContext, cluster_id: str, requested: list[dict[str, Any]]) -> Operation:
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await _managed(session, cluster_id, ready=True)
        await _idle(session, cluster.id)
        pools = list((await session.execute(select(NodePool).where(NodePool.cluster_id == cluster.id))).scalars())
        by_key = {p.id: p for p in pools} | {p.name: p for p in pools}
        errors = FieldErrors()
        counts: dict[str, int] = {}
        for index, item in enumerate(requested):
            pool = by_key.get(str(item["id"]))
            if pool is None:
                errors.add(f"nodePools[{index}].id", f"no node pool {item['id']!r} in this cluster")
            else:
                counts[pool.name] = int(item["node_count"])
        errors.raise_if_any()
        specs.check_scale([_pool_spec(p) for p in pools], counts, errors)
        errors.raise_if_any()
        operation = _enqueue(session, ctx, cluster, "scale", _provider(cluster), {"counts": counts})
    _wake(ctx)
    return operation


async def upgrade(ctx: RequestContext, cluster_id: str, version: str) -> Operation:
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await _managed(session, cluster_id, ready=True)
        await _idle(session, cluster.id)
        errors = FieldErrors()
        current = str(cluster.spec.get("version") or (cluster.version or "").lstrip("v"))
        specs.check_upgrade(current, version, errors)
        errors.raise_if_any()
        operation = _enqueue(
            session, ctx, cluster, "upgrade", _provider(cluster), {"version": version, "from": current}
        )
    _wake(ctx)
    return operation


async def delete(ctx: RequestContext, cluster_id: str, deprovision: bool) -> Operation | None:
    """Soft delete (the record stays, marked deleted), or a deprovision operation that tears it down."""
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
        if cluster.deleted_at is not None:
            raise NotFound.of("cluster", cluster_id)
        if deprovision:
            if cluster.origin != "provisioned":
                raise BadUserInput.field("deprovision", "only clusters created here can be deprovisioned")
            await _idle(session, cluster.id)
            cluster.status = "deleting"
            operation = _enqueue(session, ctx, cluster, "deprovision", _provider(cluster), {})
        else:
            operation = None
            cluster.status, cluster.deleted_at = "deleted", utcnow()
        audit.record(
            session,
            ctx.actor(),
            "cluster.deprovision_requested" if deprovision else "cluster.deleted",
            tenant_id=cluster.tenant_id,
            target_type="cluster",
            target_id=cluster.id,
            changes={"name": cluster.name},
        )
    if operation is None:
        await ctx.services.gateway.unregister(cluster_id)
    _wake(ctx)
    return operation


async def node_operation(ctx: RequestContext, cluster_id: str, node: str, kind: str, timeout_seconds: int) -> Operation:
    """`drain` or `remove-node`, through the cluster's own API (any cluster with a connection)."""
    errors = FieldErrors()
    validation.kube_name(errors, "node", node, "Node")
    if not 1 <= timeout_seconds <= 3600:
        errors.add("timeoutSeconds", "must be between 1 and 3600")
    errors.raise_if_any()
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
        if cluster.deleted_at is not None or not cluster.connection_sealed:
            raise Conflict(f"the cluster is {cluster.status}; its nodes can't be changed now")
        await _idle(session, cluster.id)
        pool = None
        if kind == "remove-node":
            pool = await _pool_of(session, cluster.id, node)
        params = {"node": node, "timeout": timeout_seconds, "pool": pool}
        operation = _enqueue(session, ctx, cluster, kind, "kubernetes", params)
    _wake(ctx)
    return operation


# -- helpers ----------------------------------------------------------------------------------------


def _enqueue(
    session: AsyncSession, ctx: RequestContext, cluster: Cluster, kind: str, provider: str, params: dict[str, Any]
) -> Operation:
    runner: OperationRunner = ctx.services.operations
    phases = runner.phases(provider, kind, params)
    return store.enqueue(
        session,
        ctx.actor(),
        tenant_id=cluster.tenant_id or "",
        cluster_id=cluster.id,
        type=kind,
        provider=provider,
        phases=phases,
        params=params,
    )


def _wake(ctx: RequestContext) -> None:
    ctx.services.operations.wake()


def _provider(cluster: Cluster) -> str:
    return str(cluster.spec.get("provider") or "simulated")


async def _managed(session: AsyncSession, cluster_id: str, *, ready: bool = False) -> Cluster:
    cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
    if cluster.deleted_at is not None:
        raise NotFound.of("cluster", cluster_id)
    if cluster.origin != "provisioned":
        raise BadUserInput("this cluster was registered from a kubeconfig; its provider manages its nodes and version")
    if ready and cluster.status not in ("connected", "degraded", "disconnected"):
        raise Conflict(f"the cluster is {cluster.status}; wait until it is provisioned")
    return cluster


async def _idle(session: AsyncSession, cluster_id: str) -> None:
    busy = select(Operation.id, Operation.type).where(
        Operation.cluster_id == cluster_id, Operation.status.in_(("queued", "running"))
    )
    row = (await session.execute(busy.limit(1))).first()
    if row is not None:
        raise Conflict(f"operation {row.id} ({row.type}) is still in progress on this cluster")


async def _pool_of(session: AsyncSession, cluster_id: str, node: str) -> str | None:
    pools = (await session.execute(select(NodePool.name).where(NodePool.cluster_id == cluster_id))).scalars()
    matches = [name for name in pools if f"-{name}-" in node]
    return max(matches, key=len) if matches else None


def _pool_spec(pool: NodePool) -> specs.NodePoolSpec:
    return specs.NodePoolSpec(
        name=pool.name,
        count=pool.node_count,
        min_count=pool.min_count,
        max_count=pool.max_count,
        instance_type=pool.instance_type,
        labels=dict(pool.labels or {}),
        taints=list(pool.taints or []),
    )


async def test_ssh(ctx: RequestContext, nodes: list[dict[str, Any]], ssh: dict[str, Any]) -> list[PreflightResult]:
    """The Provisioner's test-ssh: a real preflight of each node, nothing stored.

    The nodes' addresses pass the outbound policy, and all of them share the request's one deadline.
    """
    policy = OutboundPolicy.from_settings(ctx.settings)
    errors = FieldErrors()
    if not 1 <= len(nodes) <= policy.max_targets:
        errors.add("nodes", f"must list 1 to {policy.max_targets} nodes")
    for index, node in enumerate(nodes):
        if node["role"] not in ("control-plane", "worker"):
            errors.add(f"nodes[{index}].role", "must be control-plane or worker")
        if not 1 <= node["ssh_port"] <= 65535:
            errors.add(f"nodes[{index}].sshPort", "must be between 1 and 65535")
    if ssh["auth_method"] not in ("password", "private_key"):
        errors.add("sshConfig.authMethod", "must be password or private_key")
    errors.raise_if_any()
    credentials = SshCredentials(
        username=ssh["username"],
        auth_method=ssh["auth_method"],
        password=ssh.get("password"),
        private_key=ssh.get("private_key"),
        passphrase=ssh.get("passphrase"),
    )
    targets = [SshNode(n["name"], n["role"], n["ip_address"], n["ssh_port"], os_type=n["os_type"]) for n in nodes]
    budget = request_budget(ctx.request, policy)
    budget.take(len(targets))
    results = await preflight_all(targets, credentials, policy=policy, seconds=budget.remaining())
    async with ctx.db.transaction(ctx.scope) as session:
        audit.record(
            session,
            ctx.actor(),
            "cluster.ssh_tested",
            tenant_id=ctx.require_principal().tenant_id,
            changes={"nodes": [f"{n.ip_address}:{n.ssh_port}" for n in targets], "ok": all(r.success for r in results)},
        )
    return results
