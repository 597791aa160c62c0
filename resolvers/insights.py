"""Read-only insights over a cluster's objects: Service endpoints, consumers of ConfigMaps, Secrets
and claims, StorageClass usage, counts per namespace, ServiceAccount tokens (TLS, load balancers and
search live in `insights_tls`, `insights_lb` and `insights_search`).

The computations are plain functions over lists of objects (no I/O), which read each object
defensively (app/k8s/reading.py): a field of an unexpected type reads as its default. The `read_*`
coroutines at the end fetch what each needs from the watch-fed caches: one LIST per kind when
cold, none warm.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.context import RequestContext
from app.errors import BadUserInput, NotFound
from app.k8s.reading import Reader, labels_of, name_of, namespace_of
from app.k8s.resources import find_kind
from resolvers.kube import items
from resolvers.observability import quantity

Obj = dict[str, Any]

CONSUMED_KINDS = ("ConfigMap", "Secret", "PersistentVolumeClaim")
COUNTED_KINDS = {
    "pods": "Pod", "deployments": "Deployment", "stateful_sets": "StatefulSet", "daemon_sets": "DaemonSet",
    "jobs": "Job", "cron_jobs": "CronJob", "services": "Service", "config_maps": "ConfigMap",
    "secrets": "Secret", "persistent_volume_claims": "PersistentVolumeClaim", "ingresses": "Ingress",
}
TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


@dataclass
class Ref:
    kind: str
    name: str
    namespace: str | None = None


def key_of(obj: Obj) -> tuple[str, str]:
    return namespace_of(obj), name_of(obj)


# -- service endpoints --------------------------------------------------------------------------


@dataclass
class EndpointPort:
    name: str | None
    port: int
    protocol: str


@dataclass
class Endpoint:
    ip: str
    ready: bool
    ports: list[EndpointPort]
    hostname: str | None = None
    node_name: str | None = None
    zone: str | None = None
    target_ref: Ref | None = None


@dataclass
class ServiceEndpoints:
    namespace: str
    name: str
    type: str
    cluster_ip: str | None
    source: str  # "EndpointSlice", "Endpoints" or "none"
    endpoints: list[Endpoint]

    @property
    def ready_count(self) -> int:
        return sum(1 for e in self.endpoints if e.ready)


def ports_of(owner: Reader, path: str = "ports") -> list[EndpointPort]:
    return [EndpointPort(p.text("name"), p.integer("port"), p.text("protocol") or "TCP") for p in owner.each(path)]


def _target(owner: Reader) -> Ref | None:
    raw = owner.section("targetRef")
    return Ref(raw.text("kind") or "", raw.text("name") or "", raw.text("namespace")) if raw.value("kind") else None


def _addresses(entry: Reader, path: str) -> list[str]:
    return [a for a in entry.sequence(path) if isinstance(a, str)]


def _from_slices(slices: list[Obj]) -> list[Endpoint]:
    found: dict[str, Endpoint] = {}
    for piece in map(Reader, slices):
        ports = ports_of(piece)
        for entry in piece.each("endpoints"):
            ready = entry.value("conditions.ready") is not False  # unset means ready
            for ip in _addresses(entry, "addresses"):
                found.setdefault(ip, Endpoint(ip, ready, ports, entry.text("hostname"), entry.text("nodeName"),
                                              entry.text("zone"), _target(entry)))
    return list(found.values())


def _from_endpoints(endpoints: Obj) -> list[Endpoint]:
    found = []
    for subset in Reader(endpoints).each("subsets"):
        ports = ports_of(subset)
        for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
            for a in subset.each(key):
                found.append(Endpoint(a.text("ip") or "", ready, ports, a.text("hostname"), a.text("nodeName"),
                                      None, _target(a)))
    return found


def service_endpoints(service: Obj, endpoints: list[Obj], slices: list[Obj], pods: list[Obj]) -> ServiceEndpoints:
    """The Service's endpoints: from its EndpointSlices when it has any, else from its Endpoints."""
    namespace, name = key_of(service)
    spec = Reader(service).section("spec")
    own_slices = [s for s in slices if key_of(s)[0] == namespace
                  and labels_of(s).get("kubernetes.io/service-name") == name]
    own_endpoints = [e for e in endpoints if key_of(e) == (namespace, name)]
    source, found = "none", []
    if own_slices:
        source, found = "EndpointSlice", _from_slices(own_slices)
    elif own_endpoints:
        source, found = "Endpoints", _from_endpoints(own_endpoints[0])
    nodes = {key_of(p): Reader(p).text("spec.nodeName") for p in pods}
    for endpoint in found:
        if endpoint.node_name is None and endpoint.target_ref and endpoint.target_ref.kind == "Pod":
            endpoint.node_name = nodes.get((endpoint.target_ref.namespace or namespace, endpoint.target_ref.name))
    found.sort(key=lambda e: (not e.ready, e.ip))
    return ServiceEndpoints(namespace, name, spec.text("type") or "ClusterIP", spec.text("clusterIP"), source, found)


# -- consumers ----------------------------------------------------------------------------------


@dataclass
class PodConsumer:
    pod: Ref
    via: list[str]
    workload: Ref | None


def _containers(spec: Reader) -> Iterator[Reader]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.each(key)


def _config_refs(spec: Reader, kind: str) -> Iterator[tuple[str, str | None]]:
    """(how, name) for every reference of the pod spec to a ConfigMap or Secret."""
    key_ref, env_from, vol = ("configMapKeyRef", "configMapRef", "configMap") if kind == "ConfigMap" else \
        ("secretKeyRef", "secretRef", "secret")
    for container in _containers(spec):
        for env in container.each("env"):
            yield "env", env.text(f"valueFrom.{key_ref}.name")
        for source in container.each("envFrom"):
            yield "envFrom", source.text(f"{env_from}.name")
    for volume in spec.each("volumes"):
        yield "volume", volume.text(f"{vol}.name" if kind == "ConfigMap" else f"{vol}.secretName")
        for projected in volume.each("projected.sources"):
            yield "projectedVolume", projected.text(f"{vol}.name")
    if kind == "Secret":
        for pull in spec.each("imagePullSecrets"):
            yield "imagePullSecret", pull.text("name")


def _claim_refs(spec: Reader, pod_name: str) -> Iterator[tuple[str, str | None]]:
    for volume in spec.each("volumes"):
        yield "volume", volume.text("persistentVolumeClaim.claimName")
        if volume.value("ephemeral"):
            yield "ephemeralVolume", f"{pod_name}-{volume.text('name')}"


def uses(pod: Obj, kind: str, name: str) -> list[str]:
    """How `pod` uses the ConfigMap, Secret or PersistentVolumeClaim `name` (empty when it does not)."""
    spec = Reader(pod).section("spec")
    refs = _claim_refs(spec, name_of(pod)) if kind == "PersistentVolumeClaim" else _config_refs(spec, kind)
    return sorted({how for how, used in refs if used == name})


def _controller(obj: Obj) -> Ref | None:
    """The owner reference marked controller, else the first one; None when it has none that can be read."""
    owners = list(Reader(obj).each("metadata.ownerReferences"))
    chosen = next((o for o in owners if o.value("controller")), owners[0] if owners else None)
    return Ref(chosen.text("kind") or "", chosen.text("name") or "") if chosen is not None else None


def workload_of(pod: Obj, parents: dict[tuple[str, str, str], Obj]) -> Ref | None:
    """The top workload that owns the pod: a ReplicaSet's Deployment, a Job's CronJob, or its owner."""
    namespace = namespace_of(pod) or None
    owner = _controller(pod)
    for _ in range(8):  # owner chains are short; a cycle must not hang the request
        if owner is None:
            return None
        parent = parents.get((owner.kind, namespace or "", owner.name))
        above = _controller(parent) if parent is not None else None
        if above is None:
            return Ref(owner.kind, owner.name, namespace)
        owner = above
    return None


def consumers(kind: str, namespace: str, name: str, pods: list[Obj],
              parents: dict[str, list[Obj]]) -> list[PodConsumer]:
    """The pods of `namespace` that use the object, each with how and with its owning workload;
    `parents` holds the possible owners in between by kind (ReplicaSets, Jobs)."""
    by_key = {(k, *key_of(p)): p for k, objects in parents.items() for p in objects}
    found = []
    for pod in pods:
        if namespace_of(pod) != namespace:
            continue
        via = uses(pod, kind, name)
        if via:
            found.append(PodConsumer(Ref("Pod", name_of(pod), namespace), via, workload_of(pod, by_key)))
    return sorted(found, key=lambda c: c.pod.name)


def consumed_kind(name: str) -> str:
    found = find_kind(name)
    if found is None or found.kind not in CONSUMED_KINDS:
        raise BadUserInput.field("kind", f"must be one of {', '.join(CONSUMED_KINDS)}")
    return found.kind


# -- storage, namespaces, service accounts --------------------------------------------------------


@dataclass
class StorageClassUsage:
    name: str
    provisioner: str | None
    is_default: bool
    reclaim_policy: str | None
    volume_binding_mode: str | None
    persistent_volumes: int
    persistent_volume_claims: int
    bound_claims: int
    requested_bytes: float
    capacity_bytes: float


def is_default_class(storage_class: Obj) -> bool:
    annotations = Reader(storage_class).strings("metadata.annotations")
    return any(annotations.get(a, "").lower() == "true" for a in DEFAULT_CLASS)


def storage_class_usage(classes: list[Obj], volumes: list[Obj], claims: list[Obj]) -> list[StorageClassUsage]:
    """Per StorageClass: its volumes, its claims and their requested bytes. A claim without a class
    name counts under the default class, as the DefaultStorageClass admission would have set it."""
    default = next((name_of(c) for c in classes if is_default_class(c)), None)

    def class_of(obj: Obj, claim: bool) -> str | None:
        value = Reader(obj).text("spec.storageClassName")
        return default if value is None and claim else value

    usage = []
    for sc in sorted(classes, key=name_of):
        name, r = name_of(sc), Reader(sc)
        pvs = [v for v in volumes if class_of(v, False) == name]
        pvcs = [c for c in claims if class_of(c, True) == name]
        requested = sum(quantity(Reader(c).text("spec.resources.requests.storage")) for c in pvcs)
        capacity = sum(quantity(Reader(v).text("spec.capacity.storage")) for v in pvs)
        bound = sum(1 for c in pvcs if Reader(c).text("status.phase") == "Bound")
        usage.append(StorageClassUsage(
            name, r.text("provisioner"), name == default, r.text("reclaimPolicy"), r.text("volumeBindingMode"),
            len(pvs), len(pvcs), bound, requested, capacity))
    return usage


@dataclass
class NamespaceCounts:
    namespace: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def namespace_counts(namespaces: list[str], objects: dict[str, list[Obj]]) -> list[NamespaceCounts]:
    """Objects of each counted kind per namespace, for the given namespaces (zeros included)."""
    tallies = {kind: Counter(namespace_of(o) for o in objects.get(kind, [])) for kind in COUNTED_KINDS.values()}
    return [NamespaceCounts(ns, {f: tallies[k][ns] for f, k in COUNTED_KINDS.items()}) for ns in sorted(namespaces)]


@dataclass
class AccountTokens:
    namespace: str
    name: str
    token_secrets: list[str]
    pods: int


def pod_account(pod: Obj) -> str:
    spec = Reader(pod).section("spec")
    return spec.text("serviceAccountName") or spec.text("serviceAccount") or "default"


def service_account_tokens(accounts: list[Obj], secrets: list[Obj], pods: list[Obj]) -> list[AccountTokens]:
    """Per ServiceAccount: its token Secrets (by type and annotation) and the pods that run as it."""
    tokens: dict[tuple[str, str], list[str]] = {}
    for s in secrets:
        account = Reader(s).strings("metadata.annotations").get(SA_ANNOTATION)
        if s.get("type") == TOKEN_TYPE and account:
            tokens.setdefault((key_of(s)[0], account), []).append(key_of(s)[1])
    running = Counter((key_of(p)[0], pod_account(p)) for p in pods)
    return [AccountTokens(ns, name, sorted(tokens.get((ns, name), [])), running[(ns, name)])
            for ns, name in sorted(key_of(a) for a in accounts)]


# -- readers: each fetches from the caches what one computation needs ------------------------------


async def read(ctx: RequestContext, cluster_id: str, kinds: list[str] | tuple[str, ...]) -> dict[str, list[Obj]]:
    lists = await asyncio.gather(*(items(ctx, cluster_id, k) for k in kinds))
    return dict(zip(kinds, lists, strict=True))


def one(objects: list[Obj], kind: str, namespace: str | None, name: str) -> Obj:
    for obj in objects:
        if key_of(obj) == (namespace or "", name):
            return obj
    where = f" in namespace {namespace}" if namespace else ""
    raise NotFound(f"{kind} {name!r} not found{where}")


async def read_service_endpoints(ctx: RequestContext, cluster_id: str, namespace: str, name: str) -> ServiceEndpoints:
    o = await read(ctx, cluster_id, ("Service", "Endpoints", "EndpointSlice", "Pod"))
    service = one(o["Service"], "Service", namespace, name)
    return service_endpoints(service, o["Endpoints"], o["EndpointSlice"], o["Pod"])


async def read_consumers(ctx: RequestContext, cluster_id: str, kind: str, namespace: str,
                         name: str) -> list[PodConsumer]:
    kind = consumed_kind(kind)
    o = await read(ctx, cluster_id, (kind, "Pod", "ReplicaSet", "Job"))
    one(o[kind], kind, namespace, name)
    return consumers(kind, namespace, name, o["Pod"], {"ReplicaSet": o["ReplicaSet"], "Job": o["Job"]})


async def read_namespace_counts(ctx: RequestContext, cluster_id: str, namespace: str | None) -> list[NamespaceCounts]:
    o = await read(ctx, cluster_id, ("Namespace", *COUNTED_KINDS.values()))
    if namespace is not None:
        one(o["Namespace"], "Namespace", None, namespace)
    names = [namespace] if namespace is not None else [key_of(n)[1] for n in o["Namespace"]]
    return namespace_counts(names, o)


async def read_storage(ctx: RequestContext, cluster_id: str) -> list[StorageClassUsage]:
    o = await read(ctx, cluster_id, ("StorageClass", "PersistentVolume", "PersistentVolumeClaim"))
    return storage_class_usage(o["StorageClass"], o["PersistentVolume"], o["PersistentVolumeClaim"])


async def read_account_tokens(ctx: RequestContext, cluster_id: str, namespace: str | None) -> list[AccountTokens]:
    o = await read(ctx, cluster_id, ("ServiceAccount", "Secret", "Pod"))
    found = service_account_tokens(o["ServiceAccount"], o["Secret"], o["Pod"])
    return [a for a in found if namespace is None or a.namespace == namespace]
