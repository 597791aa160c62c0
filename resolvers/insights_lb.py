"""Load balancers of a cluster: MetalLB detection, its address pools, and the LoadBalancer Services.

`load_balancer` is a pure function over the objects; `read_load_balancer` fetches them from the caches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.context import RequestContext
from app.k8s.reading import Reader, labels_of, name_of, namespace_of
from app.k8s.resources import kind_from_crd
from resolvers.insights import EndpointPort, key_of, ports_of, read

Obj = dict[str, Any]

METALLB_NAMESPACE = "metallb-system"
_CLOUD_PROVIDER_IDS = ("aws://", "gce://", "azure://", "digitalocean://", "openstack://", "oci://", "linode://")


@dataclass
class AddressPool:
    name: str
    addresses: list[str]
    auto_assign: bool


@dataclass
class LoadBalancerService:
    namespace: str
    name: str
    ingress_ips: list[str]
    hostnames: list[str]
    ports: list[EndpointPort]
    load_balancer_class: str | None

    @property
    def pending(self) -> bool:
        return not (self.ingress_ips or self.hostnames)


@dataclass
class LoadBalancerInfo:
    detected: bool
    provider: str  # "metallb", "cloud" or "none"
    details: list[str]
    version: str | None
    address_pools: list[AddressPool]
    services: list[LoadBalancerService]


def _metallb_part(obj: Obj, names: tuple[str, ...]) -> bool:
    labels = labels_of(obj)
    if "metallb" in (labels.get("app.kubernetes.io/name"), labels.get("app")):
        return True
    return namespace_of(obj) == METALLB_NAMESPACE and name_of(obj) in names


def _image_tag(workload: Obj) -> str | None:
    for container in Reader(workload).each("spec.template.spec.containers"):
        image = container.text("image") or ""
        if "metallb" in image and ":" in image.rsplit("/", 1)[-1]:
            return image.rsplit(":", 1)[1]
    return None


def lb_services(services: list[Obj]) -> list[LoadBalancerService]:
    found = []
    for s in services:
        r = Reader(s, "Service")
        spec, ingress = r.section("spec"), list(r.each("status.loadBalancer.ingress"))
        if spec.text("type") == "LoadBalancer":
            found.append(LoadBalancerService(
                *key_of(s), [ip for i in ingress if (ip := i.text("ip"))],
                [host for i in ingress if (host := i.text("hostname"))], ports_of(spec),
                spec.text("loadBalancerClass")))
    return sorted(found, key=lambda s: (s.namespace, s.name))


def load_balancer(objects: dict[str, list[Obj]], pools: list[Obj]) -> LoadBalancerInfo:
    """MetalLB when its namespace, controller, speaker or metallb.io CRDs are there; else `cloud` when
    the nodes carry a cloud provider ID or a LoadBalancer Service got an address; else `none`."""
    details = [f"namespace {METALLB_NAMESPACE}" for n in objects["Namespace"] if key_of(n)[1] == METALLB_NAMESPACE]
    controllers = [d for d in objects["Deployment"] if _metallb_part(d, ("controller", "metallb-controller"))]
    speakers = [d for d in objects["DaemonSet"] if _metallb_part(d, ("speaker", "metallb-speaker"))]
    details += [f"deployment {'/'.join(key_of(d))}" for d in controllers]
    details += [f"daemonset {'/'.join(key_of(d))}" for d in speakers]
    details += [f"crd {key_of(c)[1]}" for c in objects["CustomResourceDefinition"]
                if Reader(c).text("spec.group") == "metallb.io"]
    services = lb_services(objects["Service"])
    cloud = any((Reader(n).text("spec.providerID") or "").startswith(_CLOUD_PROVIDER_IDS)
                for n in objects["Node"]) or any(not s.pending for s in services)
    provider = "metallb" if details else "cloud" if cloud else "none"
    version = next((t for t in map(_image_tag, controllers + speakers) if t), None)
    address_pools = [_pool(p) for p in pools]
    return LoadBalancerInfo(bool(details), provider, details, version, address_pools, services)


def _pool(pool: Obj) -> AddressPool:
    spec = Reader(pool).section("spec")
    addresses = [a for a in spec.sequence("addresses") if isinstance(a, str)]
    return AddressPool(name_of(pool), addresses, spec.value("autoAssign") is not False)


def metallb_pool_crd(crds: list[Obj]) -> Obj | None:
    return next((c for c in crds if key_of(c)[1] == "ipaddresspools.metallb.io"), None)


async def read_load_balancer(ctx: RequestContext, cluster_id: str) -> LoadBalancerInfo:
    o = await read(ctx, cluster_id, ("Namespace", "Deployment", "DaemonSet", "CustomResourceDefinition",
                                     "Service", "Node"))
    crd = metallb_pool_crd(o["CustomResourceDefinition"])
    kind = kind_from_crd(crd) if crd is not None else None
    pools = list(await ctx.services.gateway.cache(cluster_id, kind).items()) if kind is not None else []
    return load_balancer(o, pools)
