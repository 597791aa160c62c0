"""CKS's workloads: those of the tenant (every cluster), of a cluster, of a namespace; one of them,
and creating, editing, deleting and scaling one.

A workload's `{id}` is `<cluster ID>~<kind>~<namespace>~<name>`, and a namespace's
`<cluster ID>~<name>` (app/rest/values.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.cks import workload_specs
from app.rest.cks.kube_answers import CksWorkload, CksWorkloads, Deleted, deleted, workload_answer
from app.rest.rows import Call, Data, Listing, Row
from app.rest.values import UnknownId, parse_namespace_id, parse_workload_id

DOC = "workloads.graphql"
TAG = "CKS: workloads"
WORKLOADS = "/api/tenants/{tenantId}/workloads"
WORKLOAD = WORKLOADS + "/{id}"
Kind = Field(None, max_length=40)


class WorkloadType(BaseModel):
    type: str | None = Kind


class WorkloadSearch(WorkloadType):
    search: str | None = Field(None, max_length=200)
    status: str | None = Field(None, max_length=40)


class CreateWorkload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=253)
    namespaceId: str = Field(min_length=1, max_length=400)
    type: str = Field(min_length=1, max_length=40)
    spec: dict[str, Any]


class UpdateWorkload(BaseModel):
    """The workload's spec. A Kubernetes object cannot be renamed: `name` is refused."""

    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any] | None = None


class ScaleWorkload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replicas: int


def _in_namespace(call: Call, _: Data) -> Data:
    cluster_id, name = parse_namespace_id(call.path["id"])
    return {**call.fields(), "clusterId": cluster_id, "name": name}


def _one(call: Call, _: Data) -> Data:
    cluster_id, kind, namespace, name = parse_workload_id(call.path["id"])
    return {"clusterId": cluster_id, "kind": kind, "namespace": namespace, "name": name}


def _create(call: Call, _: Data) -> Data:
    assert isinstance(call.body, CreateWorkload)
    cluster_id, namespace = parse_namespace_id(call.body.namespaceId)
    manifest = workload_specs.manifest(call.body.type, call.body.name, call.body.spec)
    return {"clusterId": cluster_id, "namespace": namespace, "manifest": manifest}


def _update(call: Call, data: Data) -> Data:
    """The object is read first: a short-form edit is laid over its current containers."""
    assert isinstance(call.body, UpdateWorkload)
    found = _one(call, data)
    current = (data.get("object") or {}).get("raw")
    if current is None:
        return found
    return {**found, "patch": workload_specs.patch(found["kind"], current, call.body.spec)}


def _scale(call: Call, data: Data) -> Data:
    assert isinstance(call.body, ScaleWorkload)
    return {**_one(call, data), "replicas": call.body.replicas}


def _found(value: Any, call: Call) -> Any:
    """The workload the ID names, among those whose names contain its name."""
    _, kind, _, name = parse_workload_id(call.path["id"])
    nodes = ((value.get("cluster") or {}).get("workloads") or {}).get("nodes") or []
    match = next((w for w in nodes if w["name"] == name and w["kind"].lower() == kind.lower()), None)
    if match is None:
        raise UnknownId(f"workload {call.path['id']!r} is past the first 100 whose names contain {name!r}")
    return workload_answer(match, call)


ROWS = [
    Row(
        "GET",
        "/api/tenants/{tenantId}/clusters/{id}/workloads",
        DOC,
        ("CksClusterWorkloads",),
        "List workloads in cluster",
        TAG,
        query=WorkloadType,
        pick="cluster.workloads",
        listing=Listing("workloads"),
        shape=workload_answer,
        response=CksWorkloads,
    ),
    Row(
        "GET",
        "/api/tenants/{tenantId}/namespaces/{id}/workloads",
        DOC,
        ("CksNamespaceWorkloads",),
        "List workloads in namespace",
        TAG,
        query=WorkloadType,
        variables=_in_namespace,
        pick="cluster.workloads",
        listing=Listing("workloads"),
        shape=workload_answer,
        response=CksWorkloads,
    ),
    Row(
        "GET",
        WORKLOADS,
        DOC,
        ("CksWorkloads",),
        "List/search workloads (filter, pagination)",
        TAG,
        query=WorkloadSearch,
        pick="workloads.items",
        listing=Listing("workloads"),
        shape=workload_answer,
        response=CksWorkloads,
    ),
    Row(
        "GET",
        WORKLOAD,
        DOC,
        ("CksWorkload",),
        "Get workload details",
        TAG,
        variables=_one,
        shape=_found,
        response=CksWorkload,
    ),
    Row(
        "POST",
        WORKLOADS,
        DOC,
        ("CksCreateWorkload",),
        "Create workload",
        TAG,
        body=CreateWorkload,
        variables=_create,
        pick="createWorkload",
        shape=workload_answer,
        response=CksWorkload,
    ),
    Row(
        "PATCH",
        WORKLOAD,
        DOC,
        ("CksWorkloadObject", "CksUpdateWorkload"),
        "Edit workload",
        TAG,
        body=UpdateWorkload,
        variables=_update,
        pick="updateWorkload",
        shape=workload_answer,
        response=CksWorkload,
    ),
    Row(
        "DELETE",
        WORKLOAD,
        DOC,
        ("CksDeleteWorkload",),
        "Delete workload",
        TAG,
        variables=_one,
        pick="deleteWorkload",
        shape=deleted,
        response=Deleted,
    ),
    Row(
        "POST",
        f"{WORKLOAD}/scale",
        DOC,
        ("CksScaleWorkload",),
        "Scale workload",
        TAG,
        body=ScaleWorkload,
        variables=_scale,
        pick="scaleWorkload",
        shape=workload_answer,
        response=CksWorkload,
    ),
]
