"""Kubilitics's cluster paths: list the caller's clusters, add one from a kubeconfig, read, remove,
count what it holds, download its kubeconfig, and detect MetalLB.

Kubilitics speaks for one tenant at a time, the caller's: the paths that need the tenant ask
GraphQL who the caller is first (`me { tenantId }`), then run the operation for that tenant."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, Field, RootModel, field_validator

from app.errors import AppError
from app.k8s.kubeconfig import parse_kubeconfig
from app.rest.rows import Attachment, Call, Data, Row

DOC = "clusters.graphql"
TAG = "Kubilitics: clusters"
CLUSTER = "/api/v1/clusters/{clusterId}"
CALLER = "KubiliticsCallerTenant"
WHOLE_LIST = 100  # the largest page `clusters` gives: the document's list is not paged
FALLBACK_NAME = "cluster"


class AddCluster(BaseModel):
    """`{kubeconfig_base64, context}`; the kubeconfig may also be plain YAML text."""

    kubeconfig_base64: str = Field(min_length=1, description="the kubeconfig, base64 of its YAML (or the YAML)")
    kubeconfig_path: str | None = Field(None, description="not accepted: send kubeconfig_base64")
    context: str | None = Field(None, min_length=1, description="the context to use; default: current-context")

    @field_validator("kubeconfig_path")
    @classmethod
    def _no_server_files(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("is not read: this server opens no file of its own disk for a caller")
        return value


class ClusterAnswer(BaseModel):
    id: str
    name: str
    context: str = Field(description="empty while the cluster has no kubeconfig")
    server_url: str
    version: str = Field(description="empty while the cluster has not answered")
    status: str
    provider: str
    created_at: datetime
    last_connected: datetime | None


class ClustersAnswer(RootModel[list[ClusterAnswer]]):
    pass


class SummaryAnswer(BaseModel):
    node_count: int
    namespace_count: int
    pod_count: int
    deployment_count: int


class InvolvedObject(BaseModel):
    kind: str | None
    namespace: str | None
    name: str | None


class EventAnswer(BaseModel):
    type: str | None
    reason: str | None
    message: str | None
    firstTimestamp: str | None
    lastTimestamp: str | None
    count: int
    involvedObject: InvolvedObject


class OverviewAnswer(BaseModel):
    cluster: ClusterAnswer
    summary: SummaryAnswer
    recent_events: list[EventAnswer] = Field(description="the latest Warning events")


class Message(BaseModel):
    message: str


def cluster_name(kubeconfig: str, context: str | None) -> str:
    """The new cluster's name: its context's (the one named, or the kubeconfig's current one),
    made a DNS label. A kubeconfig that cannot be read gets a placeholder, and GraphQL says why."""
    if context is None:
        try:
            context = parse_kubeconfig(kubeconfig).current_context
        except AppError:
            context = None
    label = re.sub(r"[^a-z0-9-]+", "-", (context or "").lower()).strip("-")[:63].strip("-")
    return label or FALLBACK_NAME


def _tenant(data: Data) -> Any:
    return (data.get("me") or {}).get("tenantId")


def _list(_: Call, data: Data) -> Data:
    return {"tenantId": _tenant(data), "first": WHOLE_LIST}


def _add(call: Call, data: Data) -> Data:
    body = cast(AddCluster, call.body)
    given: Data = {"name": cluster_name(body.kubeconfig_base64, body.context), "kubeconfig": body.kubeconfig_base64}
    if body.context is not None:
        given["context"] = body.context
    return {"tenantId": _tenant(data), "input": given}


def cluster(value: Data, _: Call | None = None) -> Data:
    """A cluster as the document gives it: its context and version are strings, empty when unknown
    (a cluster created here has no context until its kubeconfig exists)."""
    return {**value, "context": value.get("context") or "", "version": value.get("version") or ""}


def _clusters(value: list[Data], _: Call) -> list[Data]:
    return [cluster(one) for one in value]


def _event(raw: Data) -> Data:
    """A Kubernetes Event as the document's events path gives it."""
    involved = raw.get("involvedObject") or {}
    return {
        "type": raw.get("type"),
        "reason": raw.get("reason"),
        "message": raw.get("message"),
        "firstTimestamp": raw.get("firstTimestamp"),
        "lastTimestamp": raw.get("lastTimestamp") or raw.get("eventTime"),
        "count": raw.get("count") or 1,
        "involvedObject": {key: involved.get(key) for key in ("kind", "namespace", "name")},
    }


def _overview(value: Data, _: Call) -> Data:
    """`{cluster, summary, recent_events}`: the recent events are the latest Warning events."""
    found = dict(value)
    summary = found.pop("summary", None) or {}
    overview = found.pop("overview", None) or {}
    events = [_event(w.get("raw") or {}) for w in overview.get("warnings") or []]
    return {"cluster": cluster(found), "summary": summary, "recent_events": events}


def _removed(_: Any, __: Call) -> Data:
    return {"message": "Cluster removed"}


def _kubeconfig_file(call: Call, _: Data) -> str:
    return f"kubeconfig-{call.path['clusterId']}.yaml"


ROWS = [
    Row(
        "GET",
        "/api/v1/clusters",
        DOC,
        (CALLER, "KubiliticsClusters"),
        "List all clusters",
        TAG,
        variables=_list,
        pick="clusters.nodes",
        shape=_clusters,
        response=ClustersAnswer,
    ),
    Row(
        "POST",
        "/api/v1/clusters",
        DOC,
        (CALLER, "KubiliticsAddCluster"),
        "Add new cluster",
        TAG,
        body=AddCluster,
        variables=_add,
        pick="registerCluster",
        shape=cluster,
        status=201,
        response=ClusterAnswer,
    ),
    Row(
        "GET",
        CLUSTER,
        DOC,
        ("KubiliticsCluster",),
        "Get cluster details",
        TAG,
        pick="cluster",
        shape=cluster,
        response=ClusterAnswer,
    ),
    Row(
        "DELETE",
        CLUSTER,
        DOC,
        ("KubiliticsRemoveCluster",),
        "Remove cluster",
        TAG,
        pick="removeCluster",
        shape=_removed,
        response=Message,
    ),
    Row(
        "GET",
        f"{CLUSTER}/summary",
        DOC,
        ("KubiliticsClusterSummary",),
        "Get cluster summary statistics",
        TAG,
        pick="cluster.summary",
    ),
    Row(
        "GET",
        f"{CLUSTER}/overview",
        DOC,
        ("KubiliticsClusterOverview",),
        "Get cluster overview",
        TAG,
        pick="cluster",
        shape=_overview,
        response=OverviewAnswer,
    ),
    Row(
        "GET",
        f"{CLUSTER}/kubeconfig",
        DOC,
        ("KubiliticsKubeconfig",),
        "Download kubeconfig for cluster",
        TAG,
        pick="kubeconfig",
        attachment=Attachment("application/yaml", _kubeconfig_file),
    ),
    Row(
        "GET",
        f"{CLUSTER}/features/metallb",
        DOC,
        ("KubiliticsMetalLb",),
        "Detect MetalLB feature",
        TAG,
        pick="cluster.insights.loadBalancer",
    ),
]
