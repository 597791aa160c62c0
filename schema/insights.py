"""Read-only insights of one cluster (`Cluster.insights`), computed from the watch-fed caches.

Every field needs `clusters:read` on the cluster, like the cluster's other reads. None of them
returns Secret material: `secretTlsInfo` reads a Secret's data to parse its certificate, but only
answers the certificate's public metadata, so it too needs `clusters:read` only.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers import insights as ins
from resolvers import insights_lb, insights_search, insights_tls
from resolvers.kube import without_secret_data
from schema.kube import KubeObject
from schema.permissions import requires_on_source_cluster

T = TypeVar("T")


def _copy(cls: type[T], source: Any, **overrides: Any) -> T:
    """A schema type from the same-named fields of a result, with nested values given in `overrides`."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {n: getattr(source, n) for n in names if n not in overrides and hasattr(source, n)}
    return cls(**values, **overrides)


@strawberry.type(description="A Kubernetes object named by kind, namespace and name.")
class ObjectRef:
    kind: str
    name: str
    namespace: str | None

    @classmethod
    def of(cls, ref: ins.Ref | None) -> ObjectRef | None:
        return cls(kind=ref.kind, name=ref.name, namespace=ref.namespace) if ref else None


@strawberry.type
class EndpointPort:
    name: str | None
    port: int
    protocol: str


def _ports(ports: list[ins.EndpointPort]) -> list[EndpointPort]:
    return [_copy(EndpointPort, p) for p in ports]


@strawberry.type(description="One address behind a Service, with the pod and node it leads to.")
class ServiceEndpoint:
    ip: str
    ready: bool
    hostname: str | None
    node_name: str | None
    zone: str | None
    target_ref: ObjectRef | None
    ports: list[EndpointPort]


@strawberry.type(description="A Service's endpoints, from its EndpointSlices (or Endpoints when it has none).")
class ServiceEndpoints:
    namespace: str
    name: str
    type: str
    cluster_ip: str | None
    source: str = strawberry.field(description="EndpointSlice, Endpoints, or none")
    ready_count: int
    not_ready_count: int
    endpoints: list[ServiceEndpoint]

    @classmethod
    def of(cls, found: ins.ServiceEndpoints) -> ServiceEndpoints:
        endpoints = [_copy(ServiceEndpoint, e, target_ref=ObjectRef.of(e.target_ref), ports=_ports(e.ports))
                     for e in found.endpoints]
        return _copy(cls, found, endpoints=endpoints, ready_count=found.ready_count,
                     not_ready_count=len(found.endpoints) - found.ready_count)


@strawberry.type(description="A pod that uses the object, how, and the workload that owns the pod.")
class ResourceConsumer:
    kind: str
    namespace: str | None
    name: str
    via: list[str] = strawberry.field(
        description="env, envFrom, volume, projectedVolume, imagePullSecret or ephemeralVolume")
    workload: ObjectRef | None


@strawberry.type
class ResourceConsumers:
    kind: str
    namespace: str
    name: str
    consumers: list[ResourceConsumer]
    workloads: list[ObjectRef] = strawberry.field(description="The consuming pods' owners, each once")

    @classmethod
    def of(cls, kind: str, namespace: str, name: str, found: list[ins.PodConsumer]) -> ResourceConsumers:
        consumers = [ResourceConsumer(kind=c.pod.kind, namespace=c.pod.namespace, name=c.pod.name, via=c.via,
                                      workload=ObjectRef.of(c.workload)) for c in found]
        owners = {(w.kind, w.namespace, w.name): w for c in consumers if (w := c.workload)}
        return cls(kind=kind, namespace=namespace, name=name, consumers=consumers,
                   workloads=[owners[k] for k in sorted(owners, key=str)])


@strawberry.type(description="A certificate's public metadata.")
class TlsCertificate:
    subject: str
    issuer: str
    common_name: str | None
    sans: list[str] = strawberry.field(description="Subject alternative names: DNS names, IPs, emails, URIs")
    valid_from: datetime
    valid_to: datetime
    days_remaining: int = strawberry.field(description="Whole days until validTo; negative once expired")
    serial_number: str = strawberry.field(description="Hexadecimal")
    expired: bool
    self_signed: bool
    is_ca: bool
    signature_algorithm: str | None
    public_key_algorithm: str


@strawberry.type(description="The certificate of a TLS Secret; never the key nor the certificate itself.")
class SecretTlsInfo:
    namespace: str
    name: str
    type: str
    has_key: bool
    key_matches: bool | None = strawberry.field(description="Whether tls.key belongs to the certificate")
    certificate: TlsCertificate | None = strawberry.field(description="The leaf, first in tls.crt")
    chain: list[TlsCertificate] = strawberry.field(description="The other certificates of tls.crt, in order")
    error: str | None

    @classmethod
    def of(cls, info: insights_tls.TlsInfo) -> SecretTlsInfo:
        leaf = _copy(TlsCertificate, info.certificate) if info.certificate else None
        return _copy(cls, info, certificate=leaf, chain=[_copy(TlsCertificate, c) for c in info.chain])


@strawberry.type(description="A StorageClass with its PersistentVolumes and PersistentVolumeClaims.")
class StorageClassUsage:
    name: str
    provisioner: str | None
    is_default: bool
    reclaim_policy: str | None
    volume_binding_mode: str | None
    persistent_volume_count: int
    persistent_volume_claim_count: int
    bound_claim_count: int
    requested_bytes: float = strawberry.field(description="Storage requested by its claims, in bytes")
    capacity_bytes: float = strawberry.field(description="Capacity of its volumes, in bytes")

    @classmethod
    def of(cls, u: ins.StorageClassUsage) -> StorageClassUsage:
        return _copy(cls, u, persistent_volume_count=u.persistent_volumes, bound_claim_count=u.bound_claims,
                     persistent_volume_claim_count=u.persistent_volume_claims)


@strawberry.type(description="How many objects of each common kind a namespace holds.")
class NamespaceResourceCounts:
    namespace: str
    pods: int
    deployments: int
    stateful_sets: int
    daemon_sets: int
    jobs: int
    cron_jobs: int
    services: int
    config_maps: int
    secrets: int
    persistent_volume_claims: int
    ingresses: int
    total: int

    @classmethod
    def of(cls, c: ins.NamespaceCounts) -> NamespaceResourceCounts:
        return cls(namespace=c.namespace, total=c.total, **c.counts)


@strawberry.type(description="A ServiceAccount's token Secrets and the pods that run as it.")
class ServiceAccountTokens:
    namespace: str
    name: str
    tokens: int = strawberry.field(description="Secrets of type kubernetes.io/service-account-token for it")
    token_secrets: list[str]
    pods: int

    @classmethod
    def of(cls, a: ins.AccountTokens) -> ServiceAccountTokens:
        return _copy(cls, a, tokens=len(a.token_secrets))


@strawberry.type
class AddressPool:
    name: str
    addresses: list[str]
    auto_assign: bool


@strawberry.type
class LoadBalancerService:
    namespace: str
    name: str
    ingress_ips: list[str]
    hostnames: list[str]
    ports: list[EndpointPort]
    load_balancer_class: str | None
    pending: bool


@strawberry.type(description="How LoadBalancer Services get their addresses on this cluster.")
class LoadBalancerInfo:
    detected: bool = strawberry.field(description="Whether MetalLB is installed")
    enabled: bool = strawberry.field(description="Same as detected")
    provider: str = strawberry.field(description="metallb, cloud or none")
    details: list[str] = strawberry.field(description="What was found: namespace, workloads, CRDs")
    version: str | None = strawberry.field(description="MetalLB's version, from its image tag")
    address_pools: list[AddressPool]
    services: list[LoadBalancerService]

    @classmethod
    def of(cls, info: insights_lb.LoadBalancerInfo) -> LoadBalancerInfo:
        services = [_copy(LoadBalancerService, s, ports=_ports(s.ports), pending=s.pending) for s in info.services]
        return _copy(cls, info, enabled=info.detected, services=services,
                     address_pools=[_copy(AddressPool, p) for p in info.address_pools])


@strawberry.type(description="An object whose name or a label value matched the search.")
class SearchResult:
    kind: str
    namespace: str | None
    name: str
    match: str = strawberry.field(description="name, or label:<key> for a label value")
    object: KubeObject


@strawberry.type
class SearchResults:
    results: list[SearchResult]
    total_count: int = strawberry.field(description="Matches before the limit")


def _search_result(hit: insights_search.SearchHit, cluster_id: str) -> SearchResult:
    found = KubeObject.of(without_secret_data(hit.obj) if hit.kind == "Secret" else hit.obj, cluster_id)
    found.kind = hit.kind  # list items need not carry their kind
    return SearchResult(kind=hit.kind, namespace=found.namespace, name=found.name, match=hit.match, object=found)


READ_CLUSTER = requires_on_source_cluster("clusters:read", "cluster_id")


@strawberry.type(
    description="Read-only insights of a cluster, from its watch-fed caches. Like the cluster's other live "
    "fields, each is null with an error of its own when it cannot be answered."
)
class ClusterInsights:
    cluster_id: strawberry.ID

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="The Service's endpoints: addresses, readiness, target pods and nodes, ports.",
    )
    async def service_endpoints(self, info: Info, namespace: str, name: str) -> ServiceEndpoints | None:
        return ServiceEndpoints.of(await ins.read_service_endpoints(info.context, str(self.cluster_id), namespace,
                                                                    name))

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Pods using a ConfigMap, Secret or PersistentVolumeClaim, and their workloads.",
    )
    async def consumers(self, info: Info, kind: str, namespace: str, name: str) -> ResourceConsumers | None:
        found = await ins.read_consumers(info.context, str(self.cluster_id), kind, namespace, name)
        return ResourceConsumers.of(ins.consumed_kind(kind), namespace, name, found)

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="A TLS Secret's certificate metadata (clusters:read; no secret material).",
    )
    async def secret_tls_info(self, info: Info, namespace: str, name: str) -> SecretTlsInfo | None:
        return SecretTlsInfo.of(await insights_tls.read_tls_info(info.context, str(self.cluster_id), namespace,
                                                                 name))

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Per StorageClass: volumes, claims, requested capacity, and which is default.",
    )
    async def storage_class_usage(self, info: Info) -> list[StorageClassUsage] | None:
        return [StorageClassUsage.of(u) for u in await ins.read_storage(info.context, str(self.cluster_id))]

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Object counts per namespace (every namespace, or the one named).",
    )
    async def namespace_counts(self, info: Info, namespace: str | None = None) -> list[NamespaceResourceCounts] | None:
        found = await ins.read_namespace_counts(info.context, str(self.cluster_id), namespace)
        return [NamespaceResourceCounts.of(c) for c in found]

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Per ServiceAccount: its token Secrets and the pods running as it.",
    )
    async def service_account_tokens(
        self, info: Info, namespace: str | None = None
    ) -> list[ServiceAccountTokens] | None:
        found = await ins.read_account_tokens(info.context, str(self.cluster_id), namespace)
        return [ServiceAccountTokens.of(a) for a in found]

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="MetalLB detection and the LoadBalancer Services with their addresses.",
    )
    async def load_balancer(self, info: Info) -> LoadBalancerInfo | None:
        return LoadBalancerInfo.of(await insights_lb.read_load_balancer(info.context, str(self.cluster_id)))

    @strawberry.field(
        permission_classes=[READ_CLUSTER],
        description="Case-insensitive search of names and label values across kinds (limit ≤ 200).",
    )
    async def search(
        self, info: Info, query: str, kinds: list[str] | None = None, limit: int = 25
    ) -> SearchResults | None:
        hits, total = await insights_search.read_search(info.context, str(self.cluster_id), query, kinds, limit)
        return SearchResults(results=[_search_result(h, str(self.cluster_id)) for h in hits], total_count=total)
