"""Workload and resource mutations, manifests, rollouts; and the rollout history query."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import manifests, resource_actions, rollouts, workload_writes
from schema.kube import KubeObject, Workload
from schema.kube_results import ApplyResult, KubeDeletion, RolloutRevision, cluster_of
from schema.permissions import SignedIn, requires_on_cluster

READ = [SignedIn, requires_on_cluster("workloads:read")]
WRITE = [SignedIn, requires_on_cluster("workloads:write")]


@strawberry.enum(description="How a patch is read, as Kubernetes defines them.")
class PatchType(Enum):
    MERGE = "merge"
    STRATEGIC = "strategic"
    JSON = "json"


@strawberry.type
class WorkloadActionQuery:
    @strawberry.field(permission_classes=READ, description="A Deployment's revisions, oldest first.")
    async def rollout_history(
        self, info: Info, cluster_id: strawberry.ID, namespace: str, name: str
    ) -> list[RolloutRevision] | None:
        cluster = await cluster_of(info, cluster_id)
        found = await rollouts.rollout_history(info.context, cluster.id, namespace, name)
        return [RolloutRevision.of(r) for r in found]


@strawberry.type
class WorkloadActionMutation:
    @strawberry.mutation(
        permission_classes=WRITE, description="A Deployment, StatefulSet, DaemonSet, Job or CronJob."
    )
    async def create_workload(self, info: Info, cluster_id: strawberry.ID, namespace: str, manifest: JSON) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        created = await workload_writes.create_workload(info.context, cluster, namespace, manifest)
        return Workload.of(created, cluster.id)

    @strawberry.mutation(permission_classes=WRITE, description="A JSON merge patch of the workload.")
    async def update_workload(
        self, info: Info, cluster_id: strawberry.ID, kind: str, namespace: str, name: str, patch: JSON
    ) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        updated = await workload_writes.update_workload(info.context, cluster, kind, namespace, name, patch)
        return Workload.of(updated, cluster.id)

    @strawberry.mutation(permission_classes=WRITE)
    async def delete_workload(
        self, info: Info, cluster_id: strawberry.ID, kind: str, namespace: str, name: str
    ) -> KubeDeletion:
        cluster = await cluster_of(info, cluster_id)
        obj, pending = await workload_writes.delete_workload(info.context, cluster, kind, namespace, name)
        return KubeDeletion.of(obj, cluster.id, pending)

    @strawberry.mutation(permission_classes=WRITE, description="Through the `scale` subresource.")
    async def scale_workload(
        self, info: Info, cluster_id: strawberry.ID, kind: str, namespace: str, name: str, replicas: int
    ) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        scaled = await workload_writes.scale_workload(info.context, cluster, kind, namespace, name, replicas)
        return Workload.of(scaled, cluster.id)

    @strawberry.mutation(
        permission_classes=WRITE,
        description="Server-side apply (field manager `fleetgraph`) of multi-document YAML or JSON. Objects "
        "without a namespace go to `namespace` (default `default`); `force` takes over fields other managers own.",
    )
    async def apply_manifest(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        yaml: str,
        dry_run: bool = False,
        namespace: str | None = None,
        force: bool = False,
    ) -> list[ApplyResult]:
        cluster = await cluster_of(info, cluster_id)
        applied = await manifests.apply_manifest(
            info.context, cluster, yaml, dry_run=dry_run, namespace=namespace, force=force
        )
        return [ApplyResult.of(a) for a in applied]

    @strawberry.mutation(permission_classes=WRITE, description="Any kind; Secret values are not returned.")
    async def patch_resource(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        kind: str,
        name: str,
        patch: JSON,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> KubeObject:
        cluster = await cluster_of(info, cluster_id)
        result = await resource_actions.patch_resource(
            info.context, cluster, kind, namespace, name, patch, patch_type.value
        )
        return KubeObject.of(result, cluster.id)

    @strawberry.mutation(permission_classes=WRITE, description="Any kind; refused unless `confirm` is true.")
    async def delete_resource(
        self, info: Info, cluster_id: strawberry.ID, kind: str, name: str, confirm: bool, namespace: str | None = None
    ) -> KubeDeletion:
        cluster = await cluster_of(info, cluster_id)
        obj, pending = await resource_actions.delete_resource(info.context, cluster, kind, namespace, name, confirm)
        return KubeDeletion.of(obj, cluster.id, pending)

    @strawberry.mutation(
        permission_classes=WRITE, description="Back to `revision` (0: the previous one), as kubectl rolls back."
    )
    async def rollback_deployment(
        self, info: Info, cluster_id: strawberry.ID, namespace: str, name: str, revision: int = 0
    ) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        result = await rollouts.rollback_deployment(info.context, cluster, namespace, name, revision)
        return Workload.of(result, cluster.id)

    @strawberry.mutation(permission_classes=WRITE, description="A rolling restart (kubectl rollout restart).")
    async def restart_deployment(self, info: Info, cluster_id: strawberry.ID, namespace: str, name: str) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        result = await rollouts.restart_deployment(info.context, cluster, namespace, name)
        return Workload.of(result, cluster.id)

    @strawberry.mutation(permission_classes=WRITE, description="A Job now, from the CronJob's template.")
    async def trigger_cron_job(self, info: Info, cluster_id: strawberry.ID, namespace: str, name: str) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        job = await rollouts.trigger_cronjob(info.context, cluster, namespace, name)
        return Workload.of(job, cluster.id)

    @strawberry.mutation(permission_classes=WRITE, description="A new Job from a failed Job's template.")
    async def retry_job(self, info: Info, cluster_id: strawberry.ID, namespace: str, name: str) -> Workload:
        cluster = await cluster_of(info, cluster_id)
        job = await rollouts.retry_job(info.context, cluster, namespace, name)
        return Workload.of(job, cluster.id)
