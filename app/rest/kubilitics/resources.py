"""Kubilitics's resource paths: objects of any kind listed, read, merge-patched, deleted and
applied, custom resources listed, and what the objects of a cluster say about each other
(a Service's endpoints, who uses a ConfigMap, Secret or claim, a TLS Secret's certificate,
counts per StorageClass, namespace and ServiceAccount).

Objects travel as the cluster wrote them (`raw`); a cluster-scoped object's namespace is
written `-` or `_` in a path."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.rest.answers import Message
from app.rest.rows import Call, Data, Listing, Row, Variables

DOC = "resources.graphql"
TAG = "Kubilitics: resources"
CLUSTER = "/api/v1/clusters/{clusterId}"
RESOURCES = f"{CLUSTER}/resources"
OBJECT = f"{RESOURCES}/{{kind}}/{{namespace}}/{{name}}"
CLUSTER_SCOPED = frozenset({"-", "_"})  # the namespace a path gives a cluster-scoped object
CONFIRMED = "true"


class ObjectMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    namespace: str | None = None


class KubeItem(BaseModel):
    """A Kubernetes object as the cluster returned it."""

    model_config = ConfigDict(extra="allow")
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any] | None = None
    status: dict[str, Any] | None = None


class KubeItems(RootModel[list[KubeItem]]):
    pass


class Selection(BaseModel):
    namespace: str | None = Field(None, description="only this namespace's objects")
    labelSelector: str | None = Field(None, description="e.g. app=nginx")
    fieldSelector: str | None = Field(None, description="e.g. status.phase=Running")


class InNamespace(BaseModel):
    namespace: str | None = Field(None, description="only this namespace's objects")


class MergePatch(BaseModel):
    """A JSON merge patch (RFC 7386) of the object: any of its fields."""

    model_config = ConfigDict(extra="allow")


class Manifest(BaseModel):
    """A Kubernetes object (or a `List` of them) to apply."""

    model_config = ConfigDict(extra="allow")
    apiVersion: str = Field(min_length=1)
    kind: str = Field(min_length=1)


class TlsCertificate(BaseModel):
    subject: str
    issuer: str
    validFrom: datetime
    validTo: datetime
    daysRemaining: int


class TlsInfo(BaseModel):
    certificate: TlsCertificate | None = Field(description="null when tls.crt holds no readable certificate")
    error: str | None = Field(None, description="why the certificate could not be read")


class VolumeCounts(RootModel[dict[str, int]]):
    """PersistentVolumes per StorageClass name."""


class CountsByNamespace(RootModel[dict[str, dict[str, int]]]):
    """Per namespace, the objects of each kind (plural, lower case)."""


class TokensByNamespace(RootModel[dict[str, dict[str, int]]]):
    """Per namespace, the token Secrets of each ServiceAccount."""


def namespace_of(path_value: str) -> str | None:
    """The namespace a path names; none for a cluster-scoped object."""
    return None if path_value in CLUSTER_SCOPED else path_value


def _object(call: Call, _: Data) -> Data:
    fields = call.fields()
    return {**fields, "namespace": namespace_of(fields["namespace"])}


def _patch(call: Call, data: Data) -> Data:
    assert call.body is not None
    return {**_object(call, data), "patch": call.body.model_dump()}


def _delete(call: Call, data: Data) -> Data:
    confirmed = call.headers.get("x-confirm-destructive", "").strip().lower() == CONFIRMED
    return {**_object(call, data), "confirm": confirmed}


def _apply(call: Call, _: Data) -> Data:
    """JSON is YAML: the manifest goes to the server-side apply as it came."""
    assert call.body is not None
    return {"clusterId": call.path["clusterId"], "yaml": json.dumps(call.body.model_dump())}


def _consumers_of(kind: str) -> Variables:
    def variables(call: Call, _: Data) -> Data:
        return {**call.fields(), "kind": kind}

    return variables


def raw(value: Data, _: Call | None = None) -> Any:
    """An object as the cluster wrote it, from a `KubeObject { raw }`."""
    return value.get("raw")


def _deleted(value: Data, _: Call) -> Data:
    if value.get("pending"):
        return {"message": "Resource deletion started: it waits for its finalizers"}
    return {"message": "Resource deleted"}


def _tls(value: Data, _: Call) -> Data:
    return {key: found for key, found in value.items() if key == "certificate" or found is not None}


def _volume_counts(value: list[Data], _: Call) -> dict[str, int]:
    return {one["name"]: one["persistentVolumeCount"] for one in value}


def _namespace_counts(value: list[Data], _: Call) -> dict[str, dict[str, int]]:
    return {one["namespace"]: {k: v for k, v in one.items() if k != "namespace"} for one in value}


def _token_counts(value: list[Data], _: Call) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for account in value:
        found.setdefault(account["namespace"], {})[account["name"]] = account["tokens"]
    return found


def _insight(name: str) -> str:
    return f"cluster.insights.{name}"


def _consumers_row(kind: str, plural: str, summary: str) -> Row:
    return Row(
        "GET",
        f"{RESOURCES}/{plural}/{{namespace}}/{{name}}/consumers",
        DOC,
        ("KubiliticsConsumers",),
        summary,
        TAG,
        variables=_consumers_of(kind),
        pick=_insight("consumers"),
    )


ROWS = [
    Row(
        "GET",
        f"{RESOURCES}/{{kind}}",
        DOC,
        ("KubiliticsResources",),
        "List resources by kind",
        TAG,
        query=Selection,
        pick="resources",
        listing=Listing(),
        shape=raw,
        response=KubeItems,
    ),
    Row(
        "GET",
        OBJECT,
        DOC,
        ("KubiliticsResource",),
        "Get specific resource",
        TAG,
        variables=_object,
        pick="kubeObject.raw",
        response=KubeItem,
    ),
    Row(
        "PATCH",
        OBJECT,
        DOC,
        ("KubiliticsPatchResource",),
        "Patch resource using JSON merge patch",
        TAG,
        body=MergePatch,
        variables=_patch,
        pick="patchResource.raw",
        response=KubeItem,
    ),
    Row(
        "DELETE",
        OBJECT,
        DOC,
        ("KubiliticsDeleteResource",),
        "Delete resource",
        TAG,
        variables=_delete,
        pick="deleteResource",
        shape=_deleted,
        response=Message,
    ),
    Row(
        "POST",
        f"{CLUSTER}/apply",
        DOC,
        ("KubiliticsApply",),
        "Apply YAML manifest",
        TAG,
        body=Manifest,
        yaml=True,
        variables=_apply,
    ),
    Row(
        "GET",
        f"{RESOURCES}/services/{{namespace}}/{{name}}/endpoints",
        DOC,
        ("KubiliticsServiceEndpoints",),
        "Get service endpoints",
        TAG,
        pick=_insight("serviceEndpoints"),
    ),
    _consumers_row("ConfigMap", "configmaps", "Get ConfigMap consumers (resources that reference it)"),
    _consumers_row("Secret", "secrets", "Get Secret consumers"),
    _consumers_row("PersistentVolumeClaim", "persistentvolumeclaims", "Get PVC consumers"),
    Row(
        "GET",
        f"{RESOURCES}/secrets/{{namespace}}/{{name}}/tls-info",
        DOC,
        ("KubiliticsSecretTlsInfo",),
        "Get TLS certificate information from Secret",
        TAG,
        pick=_insight("secretTlsInfo"),
        shape=_tls,
        response=TlsInfo,
    ),
    Row(
        "GET",
        f"{RESOURCES}/storageclasses/pv-counts",
        DOC,
        ("KubiliticsVolumeCounts",),
        "Get PersistentVolume counts per StorageClass",
        TAG,
        pick=_insight("storageClassUsage"),
        shape=_volume_counts,
        response=VolumeCounts,
    ),
    Row(
        "GET",
        f"{RESOURCES}/namespaces/counts",
        DOC,
        ("KubiliticsNamespaceCounts",),
        "Get resource counts per namespace",
        TAG,
        pick=_insight("namespaceCounts"),
        shape=_namespace_counts,
        response=CountsByNamespace,
    ),
    Row(
        "GET",
        f"{RESOURCES}/serviceaccounts/token-counts",
        DOC,
        ("KubiliticsTokenCounts",),
        "Get ServiceAccount token counts",
        TAG,
        pick=_insight("serviceAccountTokens"),
        shape=_token_counts,
        response=TokensByNamespace,
    ),
    Row(
        "GET",
        f"{CLUSTER}/crd-instances/{{crdName}}",
        DOC,
        ("KubiliticsCrdInstances",),
        "List CRD instances",
        TAG,
        query=InNamespace,
        pick="cluster.customResources",
        listing=Listing(),
        shape=raw,
        response=KubeItems,
    ),
]
