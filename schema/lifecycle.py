"""Cluster lifecycle: create in either documented shape, provision, scale, upgrade, delete, node work."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.operations import specs
from resolvers import lifecycle as resolve
from resolvers import templates as templates_resolve
from schema.clusters import Cluster
from schema.operations import Operation
from schema.permissions import requires, requires_on_cluster


@strawberry.input
class NodePoolInput:
    name: str
    node_count: int
    instance_type: str | None = None
    min_count: int | None = None
    max_count: int | None = None
    labels: JSON | None = None
    taints: list[str] | None = None


@strawberry.input
class NetworkingInput:
    cni: str
    service_cidr: str
    pod_cidr: str


@strawberry.input
class AddonInput:
    name: str
    version: str
    enabled: bool = True


@strawberry.input(description="CKS's create-cluster request; provisioned by the simulated provider.")
class CreateClusterInput:
    name: str
    version: str
    node_pools: list[NodePoolInput]
    networking: NetworkingInput
    addons: list[AddonInput] = strawberry.field(default_factory=list)
    tags: JSON | None = None
    description: str | None = None
    provision_immediately: bool = True


@strawberry.input
class TopologyInput:
    ha: bool
    control_plane_count: int
    worker_count: int


@strawberry.input
class ComponentsInput:
    kubernetes_version: str
    cni: str
    ingress: str
    runtime: str = "containerd"


@strawberry.input
class SshNodeInput:
    name: str
    role: str = strawberry.field(description="control-plane or worker")
    ip_address: str
    os_type: str = strawberry.field(description="rocky9, ubuntu22 or rhel9")
    ssh_port: int = 22


@strawberry.input(description="Stored encrypted; never returned.")
class SshConfigInput:
    username: str
    auth_method: str = strawberry.field(description="password or private_key")
    private_key: str | None = None
    passphrase: str | None = None
    password: str | None = None


@strawberry.input
class HardeningInput:
    enable_cis_k8s_benchmark: bool = False
    enable_cis_linux_benchmark: bool = False


@strawberry.input(description="The Provisioner's create-cluster request: onto your machines over SSH.")
class ProvisionClusterInput:
    name: str
    topology: TopologyInput
    components: ComponentsInput
    nodes: list[SshNodeInput]
    ssh_config: SshConfigInput
    description: str | None = None
    template_id: strawberry.ID | None = None
    hardening: HardeningInput | None = None
    provision_immediately: bool = True


@strawberry.input
class ScaleNodePoolInput:
    id: strawberry.ID = strawberry.field(description="The node pool's ID or name")
    node_count: int


@strawberry.type
class SshCheck:
    name: str
    ok: bool
    detail: str


@strawberry.type(description="One node's preflight over SSH.")
class SshNodeResult:
    node: str
    ip_address: str
    success: bool
    message: str
    hostname: str | None
    os_id: str | None
    os_version: str | None
    cpus: int | None
    memory_mib: int | None
    ports_in_use: list[int]
    checks: list[SshCheck]


@strawberry.type
class SshTestResult:
    success: bool
    results: list[SshNodeResult]


@strawberry.type
class ClusterCreation:
    cluster: Cluster
    operation: Operation | None


@strawberry.type
class ClusterDeletion:
    cluster_id: strawberry.ID
    status: str
    operation: Operation | None


def as_input_dict(value: Any) -> Any:
    """A Strawberry input as the plain camelCase dict the spec parsers read (unset fields left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None:
                continue
            head, *rest = f.name.split("_")
            out[head + "".join(word.capitalize() for word in rest)] = as_input_dict(item)
        return out
    if isinstance(value, list):
        return [as_input_dict(v) for v in value]
    return value


def _created(created: resolve.Created) -> ClusterCreation:
    return ClusterCreation(
        cluster=Cluster.from_model(created.cluster),
        operation=Operation.from_model(created.operation) if created.operation else None,
    )


WRITE = requires("clusters:write")
WRITES = [WRITE, requires_on_cluster("clusters:write", "id")]


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(permission_classes=[requires("clusters:write")])
    async def create_cluster(self, info: Info, tenant_id: strawberry.ID, input: CreateClusterInput) -> ClusterCreation:
        spec = specs.parse_cks(as_input_dict(input))
        return _created(await resolve.create_cluster(info.context, str(tenant_id), spec))

    @strawberry.mutation(permission_classes=[requires("clusters:write")])
    async def provision_cluster(
        self, info: Info, tenant_id: strawberry.ID, input: ProvisionClusterInput
    ) -> ClusterCreation:
        data = as_input_dict(input)
        if input.template_id is not None:
            template = await templates_resolve.get_template(info.context, str(input.template_id))
            data = specs.merge_template(template.spec, data)
        spec = specs.parse_provisioner(data)
        return _created(await resolve.create_cluster(info.context, str(tenant_id), spec))

    @strawberry.mutation(
        permission_classes=[requires("clusters:write")],
        description="A cluster from a stored template, with `overrides` (in the template's input shape) on top.",
    )
    async def create_cluster_from_template(
        self, info: Info, tenant_id: strawberry.ID, template_id: strawberry.ID, overrides: JSON
    ) -> ClusterCreation:
        spec = await templates_resolve.spec_from_template(info.context, str(template_id), overrides)
        return _created(await resolve.create_cluster(info.context, str(tenant_id), spec))

    @strawberry.mutation(permission_classes=WRITES)
    async def start_provisioning(self, info: Info, id: strawberry.ID) -> Operation:
        return Operation.from_model(await resolve.provision(info.context, str(id)))

    @strawberry.mutation(permission_classes=WRITES)
    async def scale_cluster(self, info: Info, id: strawberry.ID, node_pools: list[ScaleNodePoolInput]) -> Operation:
        requested = [{"id": str(p.id), "node_count": p.node_count} for p in node_pools]
        return Operation.from_model(await resolve.scale(info.context, str(id), requested))

    @strawberry.mutation(permission_classes=WRITES)
    async def upgrade_cluster(self, info: Info, id: strawberry.ID, version: str) -> Operation:
        return Operation.from_model(await resolve.upgrade(info.context, str(id), version))

    @strawberry.mutation(
        permission_classes=[requires("clusters:admin"), requires_on_cluster("clusters:admin", "id")],
        description="Marks the cluster deleted, or with `deprovision` tears it down as an operation.",
    )
    async def delete_cluster(self, info: Info, id: strawberry.ID, deprovision: bool = False) -> ClusterDeletion:
        operation = await resolve.delete(info.context, str(id), deprovision)
        return ClusterDeletion(
            cluster_id=id,
            status="deleting" if operation else "deleted",
            operation=Operation.from_model(operation) if operation else None,
        )

    @strawberry.mutation(
        permission_classes=[WRITE, requires_on_cluster("clusters:write")], description="Cordon, then evict its pods."
    )
    async def drain_node(
        self, info: Info, cluster_id: strawberry.ID, node: str, timeout_seconds: int = 300
    ) -> Operation:
        found = await resolve.node_operation(info.context, str(cluster_id), node, "drain", timeout_seconds)
        return Operation.from_model(found)

    @strawberry.mutation(
        permission_classes=[WRITE, requires_on_cluster("clusters:write")], description="Drain, then delete the node."
    )
    async def remove_node(
        self, info: Info, cluster_id: strawberry.ID, node: str, timeout_seconds: int = 300
    ) -> Operation:
        found = await resolve.node_operation(info.context, str(cluster_id), node, "remove-node", timeout_seconds)
        return Operation.from_model(found)

    @strawberry.mutation(
        permission_classes=[requires("clusters:write")],
        description="The Provisioner's test-ssh: connects to each node and runs the real preflight.",
    )
    async def test_ssh_connection(
        self, info: Info, nodes: list[SshNodeInput], ssh_config: SshConfigInput
    ) -> SshTestResult:
        found = await resolve.test_ssh(info.context, [vars(n) for n in nodes], vars(ssh_config))
        results = [
            SshNodeResult(
                node=r.node,
                ip_address=r.ip_address,
                success=r.success,
                message=r.message,
                hostname=r.hostname,
                os_id=r.os_id,
                os_version=r.os_version,
                cpus=r.cpus,
                memory_mib=r.memory_mib,
                ports_in_use=list(r.ports_in_use),
                checks=[SshCheck(name=c.name, ok=c.ok, detail=c.detail) for c in r.checks],
            )
            for r in found
        ]
        return SshTestResult(success=all(r.success for r in results), results=results)
