"""Registered clusters: register from a kubeconfig, discover contexts, update, remove, health."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.context import RequestContext
from app.db.models import Cluster, Tenant
from app.db.types import utcnow
from app.errors import AppError, BadUserInput, Conflict, FieldErrors, NotFound, UpstreamUnavailable
from app.ids import new_id
from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import ClusterConnection, KubeContext, parse_kubeconfig
from app.outbound import Budget, OutboundPolicy, request_budget
from app.paging import Page
from app.validation import text
from resolvers.common import changed_fields, get_or_404, paged

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PROBE_CONCURRENCY = 4  # contexts of one discovery probed at once
MIN_PROBE_SECONDS = 0.05  # less time than this left in the request's deadline: the probe is not started
log = logging.getLogger("fleetgraph.clusters")
STATUSES = ("connected", "degraded", "disconnected", "pending", "provisioning", "failed", "deleting", "deleted")


@dataclass
class DiscoveredContext:
    name: str
    server: str
    namespace: str | None
    reachable: bool
    version: str | None
    provider: str | None
    error: str | None


def detect_provider(server: str, git_version: str) -> str:
    host = server.lower()
    if "eks" in git_version or ".eks.amazonaws.com" in host:
        return "eks"
    if "gke" in git_version or "container.googleapis.com" in host or ".gke." in host:
        return "gke"
    if "azmk8s.io" in host or "aks" in git_version:
        return "aks"
    if "kubesim" in git_version:
        return "kubesim"
    return "other"


def _validate(data: dict[str, Any]) -> None:
    errors = FieldErrors()
    _name_rules(errors, data.get("name"))
    text(errors, "description", data.get("description"), min_len=0, max_len=1000)
    text(errors, "region", data.get("region"), max_len=100)
    if data.get("tags") is not None and not isinstance(data["tags"], dict):
        errors.add("tags", "must be an object of string keys and values")
    errors.raise_if_any()


def _name_rules(errors: FieldErrors, name: str | None) -> None:
    if name is None:
        return
    if len(name) > 63 or not DNS_1123.match(name):
        errors.add("name", "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters")


async def probe(ctx: RequestContext, policy: OutboundPolicy, budget: Budget, connection: ClusterConnection) -> str:
    """The cluster's ``gitVersion``, within what is left of the request's deadline.

    Every failure (an address the outbound policy refuses, a closed port, silence, TLS, an answer
    that is not a Kubernetes API) is the same ``UpstreamUnavailable``, so the answer says nothing
    about what listens at an address; why it failed goes to the server log.
    """
    seconds = min(ctx.settings.k8s_timeout_seconds, budget.remaining())
    if seconds < MIN_PROBE_SECONDS:
        log.info("cluster at %s not probed: the request's outbound deadline has passed", connection.server)
        raise unreachable(connection.server)
    client = ClusterClient("probe", connection, timeout=seconds, retries=0, outbound=policy)
    try:
        version = await client.version()
    except (AppError, ValueError) as exc:
        log.info("cluster at %s could not be probed: %s", connection.server, exc)
        raise unreachable(connection.server) from None
    finally:
        await client.close()
    git = version.get("gitVersion")
    if not isinstance(git, str) or not git:
        log.info("cluster at %s answered /version without a gitVersion", connection.server)
        raise unreachable(connection.server)
    return git


def unreachable(server: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"the cluster at {server} could not be reached")


async def discover_clusters(ctx: RequestContext, kubeconfig: str) -> list[DiscoveredContext]:
    """Each context of a kubeconfig, probed at most ``PROBE_CONCURRENCY`` at a time within one deadline."""
    policy = OutboundPolicy.from_settings(ctx.settings)
    config = parse_kubeconfig(kubeconfig)
    if len(config.contexts) > policy.max_targets:
        raise BadUserInput.field(
            "kubeconfig", f"has {len(config.contexts)} contexts; at most {policy.max_targets} can be checked at once"
        )
    connections = [(context, config.connection(context.name)) for context in config.contexts]
    budget = request_budget(ctx.request, policy)
    budget.take(len(connections))
    slots = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def one(context: KubeContext, connection: ClusterConnection) -> DiscoveredContext:
        server = connection.server
        try:
            async with slots:
                git = await probe(ctx, policy, budget, connection)
        except UpstreamUnavailable as exc:
            return DiscoveredContext(context.name, server, context.namespace, False, None, None, exc.message)
        return DiscoveredContext(context.name, server, context.namespace, True, git, detect_provider(server, git), None)

    return list(await asyncio.gather(*(one(context, connection) for context, connection in connections)))


async def register_cluster(ctx: RequestContext, tenant_id: str, data: dict[str, Any]) -> Cluster:
    _validate(data)
    config = parse_kubeconfig(data["kubeconfig"])
    connection = config.connection(data.get("context"))
    async with ctx.db.session(ctx.scope) as session:
        await check_capacity(session, tenant_id, data["name"])
    policy = OutboundPolicy.from_settings(ctx.settings)
    budget = request_budget(ctx.request, policy)
    budget.take(1)
    git = await probe(ctx, policy, budget, connection)
    services = ctx.services
    async with ctx.db.transaction(ctx.scope) as session:
        await check_capacity(session, tenant_id, data["name"])
        cluster = Cluster(
            id=new_id("cluster"),
            tenant_id=tenant_id,
            name=data["name"],
            description=data.get("description") or "",
            status="connected",
            provider=detect_provider(connection.server, git),
            region=data.get("region"),
            version=git,
            tags=data.get("tags") or {},
            context=data.get("context") or config.current_context,
            server_url=connection.server,
            connection_sealed=services.sealer.seal(connection.to_json()),
            kubeconfig_sealed=services.sealer.seal(data["kubeconfig"]),
            created_by=ctx.principal_id,
            last_connected_at=utcnow(),
            last_checked_at=utcnow(),
        )
        session.add(cluster)
        audit.record(
            session,
            ctx.actor(),
            "cluster.registered",
            tenant_id=tenant_id,
            target_type="cluster",
            target_id=cluster.id,
            changes={"name": cluster.name, "server": cluster.server_url},
        )
    return cluster


async def check_capacity(session: AsyncSession, tenant_id: str, name: str) -> None:
    tenant = await get_or_404(session, Tenant, tenant_id, "tenant")
    if tenant.deleted_at is not None:
        raise NotFound.of("tenant", tenant_id)
    live = (Cluster.tenant_id == tenant_id, Cluster.deleted_at.is_(None))
    count = (await session.execute(select(func.count()).where(*live))).scalar_one()
    if count >= tenant.max_clusters:
        raise Conflict(f"tenant has reached its limit of {tenant.max_clusters} clusters")
    clash = select(Cluster.id).where(*live, Cluster.name == name)
    if (await session.execute(clash)).first():
        raise Conflict(f"a cluster named '{name}' already exists in this tenant")


async def list_clusters(
    ctx: RequestContext, tenant_id: str, page: Page, search: str | None, status: str | None
) -> tuple[list[Cluster], int]:
    if status is not None and status not in STATUSES:
        raise BadUserInput.field("status", f"must be one of {', '.join(STATUSES)}")
    query: Select[Any] = select(Cluster).where(Cluster.tenant_id == tenant_id).order_by(Cluster.name)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Cluster.name).like(pattern), func.lower(Cluster.region).like(pattern)))
    query = query.where(Cluster.status == status) if status else query.where(Cluster.deleted_at.is_(None))
    async with ctx.db.session(ctx.scope) as session:
        await get_or_404(session, Tenant, tenant_id, "tenant")
        return await paged(session, query, page)


async def get_cluster(ctx: RequestContext, cluster_id: str) -> Cluster:
    cluster = await ctx.loaders.cluster.load(cluster_id)
    if cluster is None:
        raise NotFound.of("cluster", cluster_id)
    return cluster


async def update_cluster(ctx: RequestContext, cluster_id: str, data: dict[str, Any]) -> Cluster:
    _validate(data)
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
        if data.get("name") and data["name"] != cluster.name:
            clash = select(Cluster.id).where(
                Cluster.tenant_id == cluster.tenant_id, Cluster.name == data["name"], Cluster.deleted_at.is_(None)
            )
            if (await session.execute(clash)).first():
                raise Conflict(f"a cluster named '{data['name']}' already exists in this tenant")
        changes = changed_fields(cluster, data)
        audit.record(
            session,
            ctx.actor(),
            "cluster.updated",
            tenant_id=cluster.tenant_id,
            target_type="cluster",
            target_id=cluster.id,
            changes=changes,
        )
    return cluster


async def remove_cluster(ctx: RequestContext, cluster_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
        audit.record(
            session,
            ctx.actor(),
            "cluster.removed",
            tenant_id=cluster.tenant_id,
            target_type="cluster",
            target_id=cluster.id,
            changes={"name": cluster.name},
        )
        await session.delete(cluster)
    await ctx.services.gateway.unregister(cluster_id)


async def read_kubeconfig(ctx: RequestContext, cluster_id: str) -> str:
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
        audit.record(
            session,
            ctx.actor(),
            "cluster.kubeconfig_read",
            tenant_id=cluster.tenant_id,
            target_type="cluster",
            target_id=cluster.id,
        )
    if not cluster.kubeconfig_sealed:
        raise NotFound(f"the kubeconfig of cluster {cluster.name} is not ready (the cluster is {cluster.status})")
    return ctx.services.sealer.open(cluster.kubeconfig_sealed)
