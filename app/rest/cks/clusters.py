"""CKS's tenant clusters: list, read, create (a lifecycle operation), edit, delete, scale and
upgrade them, and list their node pools.

CKS spells a cluster's version without the `v` Kubernetes puts before it, and its networking and
add-ons are what was asked for when the cluster was created here (registered clusters have none)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.rest.cks.kube_answers import Deleted, deleted
from app.rest.rows import Call, Data, Listing, Row

DOC = "clusters.graphql"
TAG = "CKS: clusters"
CLUSTERS = "/api/tenants/{tenantId}/clusters"
CLUSTER = CLUSTERS + "/{id}"

ClusterStatus = Literal[
    "pending", "provisioning", "connected", "degraded", "disconnected", "failed", "deleting", "deleted"
]
Name = Field(min_length=1, max_length=200)
Text = Field(max_length=200)
Tags = dict[str, str]


class ClusterSearch(BaseModel):
    search: str | None = Field(None, max_length=200)
    status: ClusterStatus | None = None


class CksNodePoolRequest(BaseModel):
    """A node pool as CreateClusterRequest sends it; an `id` is the server's to give, so it is not sent on."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, max_length=200)
    name: str = Name
    nodeCount: int
    instanceType: str | None = Field(None, max_length=100)
    minCount: int | None = None
    maxCount: int | None = None
    labels: dict[str, str] | None = None
    taints: list[str] | None = None


class CksNetworking(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cni: str = Text
    serviceCidr: str = Field(max_length=50)
    podCidr: str = Field(max_length=50)


class CksAddon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    version: str = Field(max_length=50)
    enabled: bool


class CreateCluster(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    version: str = Field(max_length=50)
    nodePools: list[CksNodePoolRequest]
    networking: CksNetworking
    addons: list[CksAddon]
    tags: Tags | None = None


class UpdateCluster(BaseModel):
    """A cluster's name and tags. Its version changes through `/upgrade` and its node counts through
    `/scale`; its add-ons are fixed once it is created. Those fields are refused here, not ignored."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    tags: Tags | None = None


class CksPoolSize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    nodeCount: int


class ScaleCluster(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nodePools: list[CksPoolSize]


class UpgradeCluster(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=50)


class CksNodePool(BaseModel):
    id: str
    name: str
    nodeCount: int
    currentNodes: int | None = None
    readyNodes: int | None = None
    instanceType: str | None = None
    minCount: int | None = None
    maxCount: int | None = None
    labels: dict[str, str] = {}
    taints: list[str] = []


class CksCluster(BaseModel):
    """CKS's Cluster."""

    id: str
    name: str
    description: str = ""
    status: ClusterStatus
    version: str | None = None
    tenantId: str
    provider: str
    region: str | None = None
    origin: str
    tags: Tags = {}
    networking: CksNetworking | None = None
    addons: list[CksAddon] | None = None
    nodePools: list[CksNodePool] | None = None
    createdAt: str
    updatedAt: str


class CksClusters(RootModel[list[CksCluster]]):
    pass


def cluster_answer(value: Any, _: Call) -> Any:
    """The GraphQL cluster as CKS's Cluster: `1.30.6` for `v1.30.6`, tags as strings, and the
    networking and add-ons its creation asked for."""
    if not isinstance(value, dict):
        return value
    spec = value.get("spec") or {}
    answer = {k: v for k, v in value.items() if k != "spec"}
    version = value.get("version")
    answer["version"] = version[1:] if isinstance(version, str) and version.startswith("v") else version
    answer["tags"] = {str(k): str(v) for k, v in (value.get("tags") or {}).items()}
    networking = spec.get("networking") or {}
    if all(isinstance(networking.get(k), str) for k in ("cni", "serviceCidr", "podCidr")):
        answer["networking"] = {k: networking[k] for k in ("cni", "serviceCidr", "podCidr")}
    if isinstance(spec.get("addons"), list):
        answer["addons"] = spec["addons"]
    return answer


def _create(call: Call, _: Data) -> Data:
    assert isinstance(call.body, CreateCluster)
    body = call.body.model_dump(exclude_none=True)
    body["nodePools"] = [{k: v for k, v in pool.items() if k != "id"} for pool in body["nodePools"]]
    return {"tenantId": call.path["tenantId"], "input": body}


def _update(call: Call, _: Data) -> Data:
    assert call.body is not None
    return {"id": call.path["id"], "input": call.body.model_dump(exclude_none=True)}


def _delete(call: Call, data: Data) -> Data:
    """A cluster created here is torn down (a deprovision operation) unless nothing was ever built
    for it; a registered one is forgotten, its provider keeps it."""
    found = data.get("cluster") or {}
    built = found.get("origin") == "provisioned" and found.get("status") != "pending"
    return {"id": call.path["id"], "deprovision": built}


ROWS = [
    Row(
        "GET",
        CLUSTERS,
        DOC,
        ("CksClusters",),
        "List/search clusters (filter, pagination)",
        TAG,
        query=ClusterSearch,
        pick="clusters",
        listing=Listing("clusters"),
        shape=cluster_answer,
        response=CksClusters,
    ),
    Row(
        "GET",
        CLUSTER,
        DOC,
        ("CksCluster",),
        "Get cluster details",
        TAG,
        pick="cluster",
        shape=cluster_answer,
        response=CksCluster,
    ),
    Row(
        "POST",
        CLUSTERS,
        DOC,
        ("CksCreateCluster",),
        "Create cluster",
        TAG,
        body=CreateCluster,
        variables=_create,
        pick="createCluster.cluster",
        shape=cluster_answer,
        response=CksCluster,
    ),
    Row(
        "PATCH",
        CLUSTER,
        DOC,
        ("CksUpdateCluster",),
        "Edit cluster",
        TAG,
        body=UpdateCluster,
        variables=_update,
        pick="updateCluster",
        shape=cluster_answer,
        response=CksCluster,
    ),
    Row(
        "DELETE",
        CLUSTER,
        DOC,
        ("CksCluster", "CksDeleteCluster"),
        "Delete cluster",
        TAG,
        variables=_delete,
        pick="deleteCluster",
        shape=deleted,
        response=Deleted,
    ),
    Row(
        "POST",
        f"{CLUSTER}/scale",
        DOC,
        ("CksScaleCluster", "CksCluster"),
        "Scale cluster",
        TAG,
        body=ScaleCluster,
        pick="cluster",
        shape=cluster_answer,
        response=CksCluster,
    ),
    Row("GET", f"{CLUSTER}/nodepools", DOC, ("CksNodePools",), "List node pools", TAG, pick="cluster.nodePools"),
    Row(
        "POST",
        f"{CLUSTER}/upgrade",
        DOC,
        ("CksUpgradeCluster", "CksCluster"),
        "Upgrade cluster",
        TAG,
        body=UpgradeCluster,
        pick="cluster",
        shape=cluster_answer,
        response=CksCluster,
    ),
]
