"""The Provisioner's cluster paths: create (provisioned over SSH onto the listed nodes), list,
read, delete or deprovision, and download the kubeconfig."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.provisioner import vocabulary
from app.rest.provisioner.answers import ProvisionerClusterView, ProvisionerCreated, ProvisionerDeletion, listed
from app.rest.provisioner.bodies import (
    ProvisionerComponents,
    ProvisionerHardening,
    ProvisionerSshConfig,
    ProvisionerSshNode,
    ProvisionerTopology,
)
from app.rest.provisioner.caller import CALLER, tenant_of
from app.rest.provisioner.vocabulary import StatusFilter
from app.rest.rows import Attachment, Call, Data, Listing, Row

DOC = "clusters.graphql"
TAG = "Provisioner: clusters"
CLUSTER = "/api/v1/clusters/{cluster_id}"


class CreateCluster(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    name: str = Field(min_length=1, max_length=63)
    description: str | None = Field(None, max_length=1000)
    templateId: str | None = Field(None, alias="template_id", max_length=64)
    topology: ProvisionerTopology
    components: ProvisionerComponents
    nodes: list[ProvisionerSshNode] = Field(min_length=1, max_length=1000)
    sshConfig: ProvisionerSshConfig = Field(alias="ssh_config")
    hardening: ProvisionerHardening | None = None
    provisionImmediately: bool = Field(True, alias="provision_immediately")


class ClusterList(BaseModel):
    status_filter: StatusFilter | None = None


class Deprovision(BaseModel):
    deprovision: bool = False


def _create(call: Call, data: Data) -> Data:
    assert call.body is not None
    return {"tenantId": tenant_of(data), "input": call.body.model_dump(exclude_none=True)}


def _list(call: Call, data: Data) -> Data:
    wanted = call.query.status_filter if isinstance(call.query, ClusterList) else None
    return {"tenantId": tenant_of(data), "status": vocabulary.STATUS_FILTERS[wanted] if wanted else None}


def cluster_view(value: dict[str, Any], _: Call | None = None) -> dict[str, Any]:
    spec = value.get("spec") or {}
    components = vocabulary.components(spec, value.get("version"))
    return {
        "id": value["id"],
        "name": value["name"],
        "description": value.get("description") or None,
        "status": vocabulary.cluster_status(value["status"]),
        "kubernetes_version": components["kubernetes_version"],
        "topology": vocabulary.topology(spec),
        "components": components,
        "created_at": value["created_at"],
        "updated_at": value["updated_at"],
    }


def _created(value: dict[str, Any], _: Call) -> dict[str, Any]:
    cluster = {**value["cluster"], "status": vocabulary.cluster_status(value["cluster"]["status"])}
    job = value.get("job")
    return {"cluster": cluster, "job": {**job, "type": vocabulary.job_type(job["type"])} if job else None}


def _deleted(value: dict[str, Any], _: Call) -> dict[str, Any]:
    operation = value.get("operation")
    if operation is None:
        return {"message": "Cluster marked as deleted", "cluster_id": value["cluster_id"]}
    return {"message": "Cluster deletion initiated", "cluster_id": value["cluster_id"], "job_id": operation["id"]}


def _kubeconfig_name(_: Call, data: Data) -> str:
    cluster = data.get("cluster") or {}
    return f"{cluster.get('name') or 'cluster'}-kubeconfig.yaml"


ROWS = [
    Row(
        "POST",
        "/api/v1/clusters",
        DOC,
        (CALLER, "ProvisionerCreateCluster"),
        "Create Cluster",
        TAG,
        body=CreateCluster,
        variables=_create,
        pick="provisionCluster",
        shape=_created,
        status=201,
        response=ProvisionerCreated,
    ),
    Row(
        "GET",
        "/api/v1/clusters",
        DOC,
        (CALLER, "ProvisionerClusters"),
        "List Clusters",
        TAG,
        query=ClusterList,
        variables=_list,
        pick="clusters",
        listing=Listing("data"),
        shape=cluster_view,
        response=listed(ProvisionerClusterView),
    ),
    Row(
        "GET",
        CLUSTER,
        DOC,
        ("ProvisionerClusterDetails",),
        "Get Cluster Details",
        TAG,
        pick="cluster",
        shape=cluster_view,
        response=ProvisionerClusterView,
    ),
    Row(
        "DELETE",
        CLUSTER,
        DOC,
        ("ProvisionerDeleteCluster",),
        "Delete Cluster",
        TAG,
        query=Deprovision,
        pick="deleteCluster",
        shape=_deleted,
        status=202,
        response=ProvisionerDeletion,
    ),
    Row(
        "GET",
        f"{CLUSTER}/kubeconfig",
        DOC,
        ("ProvisionerKubeconfig",),
        "Download Kubeconfig",
        TAG,
        pick="kubeconfig",
        attachment=Attachment("application/x-yaml", _kubeconfig_name),
    ),
]
