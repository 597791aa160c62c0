"""Kubilitics samples (seed 002): resources by kind, apply, custom resources and insights."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World
from tests.support.waiting import eventually

RESOURCES = "/api/v1/clusters/{clusterId}/resources"
OBJECT = f"{RESOURCES}/{{kind}}/{{namespace}}/{{name}}"
CONFIRM = {"X-Confirm-Destructive": "true"}
APPLY = "mutation($c:ID!,$y:String!){ applyManifest(clusterId:$c, yaml:$y){ kind name action } }"
FIND = """query($c:ID!,$k:String!,$n:String,$f:String){
  resources(clusterId:$c, kind:$k, namespace:$n, fieldSelector:$f){ raw } }"""
CRD = "gadgets.kubilitics.example"


async def apply(world: World, *objects: dict[str, Any]) -> None:
    """Objects made through GraphQL (operator), then waited for until the cluster's caches hold them."""
    text = "\n---\n".join(json.dumps(one) for one in objects)
    await world.gql(APPLY, {"c": world.cluster_id, "y": text}, role="operator")
    for one in objects:
        meta = one["metadata"]
        await cached(world, one["kind"], meta.get("namespace"), meta["name"])


async def cached(world: World, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    """The object once the cluster's caches hold it, as GraphQL reads it."""

    async def found() -> dict[str, Any] | None:
        variables = {"c": world.cluster_id, "k": kind, "n": namespace, "f": f"metadata.name={name}"}
        listed = (await world.gql(FIND, variables))["resources"]
        return listed[0]["raw"] if listed else None

    return await eventually(found, 20, f"{kind} {namespace}/{name} in the caches")


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE}, "data": data}


def _certificate() -> tuple[str, str]:
    """A self-signed certificate and its key, base64 of their PEM as a TLS Secret holds them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "shop.example.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    crt = cert.public_bytes(serialization.Encoding.PEM)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return base64.b64encode(crt).decode(), base64.b64encode(pem).decode()


async def _tls_secret(world: World) -> str:
    name = "kubilitics-tls"
    if "kubilitics tls" not in world.kept:
        crt, key = _certificate()
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": crt, "tls.key": key},
        }
        await apply(world, secret)
        world.kept["kubilitics tls"] = name
    return str(world.kept["kubilitics tls"])


async def _gadgets(world: World) -> None:
    """A custom resource definition and one of its objects in the shop namespace."""
    if "kubilitics gadgets" in world.kept:
        return
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD},
        "spec": {
            "group": "kubilitics.example",
            "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    gadget = {
        "apiVersion": "kubilitics.example/v1",
        "kind": "Gadget",
        "metadata": {"name": "sprocket", "namespace": NAMESPACE},
        "spec": {"size": 3},
    }
    await world.gql(APPLY, {"c": world.cluster_id, "y": json.dumps(crd)}, role="operator")
    await world.gql(APPLY, {"c": world.cluster_id, "y": json.dumps(gadget)}, role="operator")
    world.kept["kubilitics gadgets"] = True


def _on_cluster(world: World, **path: str) -> dict[str, str]:
    return {"clusterId": world.cluster_id, **path}


@sample()
async def list_resources(world: World) -> Request:
    return Request(
        path=_on_cluster(world, kind="deployments"),
        query={"namespace": NAMESPACE, "limit": 50, "labelSelector": "tier=frontend"},
    )


@sample()
async def get_resource(world: World) -> Request:
    return Request(path=_on_cluster(world, kind="deployments", namespace=NAMESPACE, name="web"))


@sample(weak="viewer", writes=True)
async def patch_resource(world: World) -> Request:
    name = f"kubilitics-patched-{uuid.uuid4().hex[:8]}"
    await world.gql(APPLY, {"c": world.cluster_id, "y": json.dumps(config_map(name, mode="a"))}, role="operator")
    return Request(
        path=_on_cluster(world, kind="configmaps", namespace=NAMESPACE, name=name),
        body={"metadata": {"labels": {"tier": "frontend"}}, "data": {"mode": "b"}},
    )


@sample(weak="viewer", writes=True)
async def delete_resource(world: World) -> Request:
    name = f"kubilitics-victim-{uuid.uuid4().hex[:8]}"
    await world.gql(APPLY, {"c": world.cluster_id, "y": json.dumps(config_map(name, mode="a"))}, role="operator")
    return Request(path=_on_cluster(world, kind="configmaps", namespace=NAMESPACE, name=name), headers=dict(CONFIRM))


@sample(weak="viewer", writes=True)
async def apply_manifest(world: World) -> Request:
    manifest = config_map("kubilitics-applied", mode=uuid.uuid4().hex[:8])
    manifest["metadata"]["labels"] = {"app": "kubilitics"}
    return Request(path=_on_cluster(world), body=manifest)


@sample()
async def service_endpoints(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name="web"))


@sample()
async def config_map_consumers(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name="web-config"))


@sample()
async def secret_consumers(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name="api-secrets"))


@sample()
async def secret_tls_info(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name=await _tls_secret(world)))


@sample()
async def claim_consumers(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name="data-db-0"))


@sample()
async def volume_counts(world: World) -> Request:
    return Request(path=_on_cluster(world))


@sample()
async def namespace_counts(world: World) -> Request:
    return Request(path=_on_cluster(world))


@sample()
async def token_counts(world: World) -> Request:
    return Request(path=_on_cluster(world))


@sample()
async def crd_instances(world: World) -> Request:
    await _gadgets(world)
    return Request(path=_on_cluster(world, crdName=CRD), query={"namespace": NAMESPACE, "limit": 100})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", f"{RESOURCES}/{{kind}}"): list_resources,
    ("GET", OBJECT): get_resource,
    ("PATCH", OBJECT): patch_resource,
    ("DELETE", OBJECT): delete_resource,
    ("POST", "/api/v1/clusters/{clusterId}/apply"): apply_manifest,
    ("GET", f"{RESOURCES}/services/{{namespace}}/{{name}}/endpoints"): service_endpoints,
    ("GET", f"{RESOURCES}/configmaps/{{namespace}}/{{name}}/consumers"): config_map_consumers,
    ("GET", f"{RESOURCES}/secrets/{{namespace}}/{{name}}/consumers"): secret_consumers,
    ("GET", f"{RESOURCES}/secrets/{{namespace}}/{{name}}/tls-info"): secret_tls_info,
    ("GET", f"{RESOURCES}/persistentvolumeclaims/{{namespace}}/{{name}}/consumers"): claim_consumers,
    ("GET", f"{RESOURCES}/storageclasses/pv-counts"): volume_counts,
    ("GET", f"{RESOURCES}/namespaces/counts"): namespace_counts,
    ("GET", f"{RESOURCES}/serviceaccounts/token-counts"): token_counts,
    ("GET", "/api/v1/clusters/{clusterId}/crd-instances/{crdName}"): crd_instances,
}
