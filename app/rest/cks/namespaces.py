"""CKS's tenant namespaces: list (across the tenant's clusters), read, create, edit, delete, and
their quota, which CKS "scales" (cpu, memory, pods) and reads and replaces on its own path.

A namespace's `{id}` is `<cluster ID>~<name>` (app/rest/values.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rest.cks.kube_answers import (
    CksNamespace,
    CksNamespaces,
    CksResourceQuota,
    Deleted,
    default_quota,
    deleted,
    namespace_answer,
    namespace_item,
    quota_of,
)
from app.rest.rows import Call, Data, Listing, Row
from app.rest.values import parse_namespace_id

DOC = "namespaces.graphql"
TAG = "CKS: namespaces"
NAMESPACES = "/api/tenants/{tenantId}/namespaces"
NAMESPACE = NAMESPACES + "/{id}"
Strings = dict[str, str]


class NamespaceSearch(BaseModel):
    search: str | None = Field(None, max_length=200)


class CreateNamespace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=253)
    clusterId: str = Field(min_length=1, max_length=100)
    labels: Strings | None = None
    annotations: Strings | None = None
    quotas: CksResourceQuota | None = None


class UpdateNamespace(BaseModel):
    """Labels, annotations and quotas. A Kubernetes namespace cannot be renamed: `name` is refused."""

    model_config = ConfigDict(extra="forbid")
    labels: Strings | None = None
    annotations: Strings | None = None
    quotas: CksResourceQuota | None = None


class ScaleNamespace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpu: str | None = Field(None, max_length=40)
    memory: str | None = Field(None, max_length=40)
    pods: int | None = None


def _one(call: Call, _: Data) -> Data:
    cluster_id, name = parse_namespace_id(call.path["id"])
    return {"clusterId": cluster_id, "name": name}


def _create(call: Call, _: Data) -> Data:
    assert isinstance(call.body, CreateNamespace)
    body = call.body.model_dump(exclude_none=True)
    cluster_id = body.pop("clusterId")
    quota = body.pop("quotas", None)
    return {"clusterId": cluster_id, "input": {**body, **({"quota": quota} if quota else {})}}


def _update(call: Call, data: Data) -> Data:
    """Only what was sent changes; a body with nothing to change is GraphQL's to refuse."""
    assert isinstance(call.body, UpdateNamespace)
    body = call.body.model_dump(exclude_none=True)
    quota = body.pop("quotas", None)
    return {
        **_one(call, data),
        "input": body,
        "quota": quota or {},
        "withMetadata": bool(body) or quota is None,
        "withQuota": quota is not None,
    }


def _quota(call: Call, data: Data) -> Data:
    assert call.body is not None
    return {**_one(call, data), "quota": call.body.model_dump(exclude_none=True)}


def _namespace(value: Any, _: Call) -> Any:
    return namespace_answer(value["namespace"], default_quota(value))


def _changed(value: Any, _: Call) -> Any:
    """The namespace as read, with what the mutations answered taking precedence (the read may
    come from a cache that has not seen them yet)."""
    found = {**value["namespace"], **(value.get("updateNamespace") or {})}
    quota = value.get("updateNamespaceQuota")
    return namespace_answer(found, quota["raw"] if quota else default_quota(value))


def _read_quota(value: Any, _: Call) -> Any:
    return quota_of(default_quota(value))


def _written_quota(value: Any, _: Call) -> Any:
    return quota_of(value)


ROWS = [
    Row(
        "GET",
        NAMESPACES,
        DOC,
        ("CksNamespaces",),
        "List/search namespaces (filter, pagination)",
        TAG,
        query=NamespaceSearch,
        pick="namespaces.items",
        listing=Listing("namespaces"),
        shape=namespace_item,
        response=CksNamespaces,
    ),
    Row(
        "GET",
        NAMESPACE,
        DOC,
        ("CksNamespace",),
        "Get namespace details",
        TAG,
        variables=_one,
        shape=_namespace,
        response=CksNamespace,
    ),
    Row(
        "POST",
        NAMESPACES,
        DOC,
        ("CksCreateNamespace",),
        "Create namespace",
        TAG,
        body=CreateNamespace,
        variables=_create,
        pick="createNamespace",
        shape=namespace_item,
        response=CksNamespace,
    ),
    Row(
        "PATCH",
        NAMESPACE,
        DOC,
        ("CksUpdateNamespace", "CksNamespace"),
        "Edit namespace",
        TAG,
        body=UpdateNamespace,
        variables=_update,
        shape=_changed,
        response=CksNamespace,
    ),
    Row(
        "DELETE",
        NAMESPACE,
        DOC,
        ("CksDeleteNamespace",),
        "Delete namespace",
        TAG,
        variables=_one,
        pick="deleteNamespace",
        shape=deleted,
        response=Deleted,
    ),
    Row(
        "POST",
        f"{NAMESPACE}/scale",
        DOC,
        ("CksSetNamespaceQuota", "CksNamespace"),
        "Scale namespace",
        TAG,
        body=ScaleNamespace,
        variables=_quota,
        shape=_changed,
        response=CksNamespace,
    ),
    Row(
        "GET",
        f"{NAMESPACE}/quota",
        DOC,
        ("CksNamespace",),
        "Get resource quota",
        TAG,
        variables=_one,
        shape=_read_quota,
        response=CksResourceQuota,
    ),
    Row(
        "PUT",
        f"{NAMESPACE}/quota",
        DOC,
        ("CksSetNamespaceQuota",),
        "Update resource quota",
        TAG,
        body=CksResourceQuota,
        variables=_quota,
        pick="updateNamespaceQuota.raw",
        shape=_written_quota,
        response=CksResourceQuota,
    ),
]
