"""The Provisioner's documented answers, for the OpenAPI document of the rows that reshape what
GraphQL gives (their `shape` functions build exactly these)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, RootModel

from app.rest.provisioner.roles import Role
from app.rest.provisioner.vocabulary import ClusterStatus


def listed(item: type[BaseModel]) -> type[RootModel[Any]]:
    """A listing row's answer model: the list of its items (the dialect adds the paging around it)."""
    return RootModel[list[item]]  # type: ignore[valid-type]


class ProvisionerAccount(BaseModel):
    id: str
    email: str
    full_name: str
    role: Role


class ProvisionerTokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: ProvisionerAccount


class ProvisionerTopologyView(BaseModel):
    ha: bool
    control_plane_count: int
    worker_count: int


class ProvisionerComponentsView(BaseModel):
    kubernetes_version: str
    cni: str
    ingress: str
    runtime: str


class ProvisionerClusterView(BaseModel):
    id: str
    name: str
    description: str | None
    status: ClusterStatus
    kubernetes_version: str
    topology: ProvisionerTopologyView
    components: ProvisionerComponentsView
    created_at: str
    updated_at: str


class ProvisionerCreatedCluster(BaseModel):
    id: str
    name: str
    status: ClusterStatus
    created_at: str


class ProvisionerJobSummary(BaseModel):
    id: str
    type: str
    status: str
    created_at: str


class ProvisionerCreated(BaseModel):
    cluster: ProvisionerCreatedCluster
    job: ProvisionerJobSummary | None


class ProvisionerDeletion(BaseModel):
    message: str
    cluster_id: str
    job_id: str | None = None


class ProvisionerNodeView(BaseModel):
    id: str
    cluster_id: str
    name: str
    role: str
    ip_address: str
    os_type: str
    status: str
    created_at: str | None


class ProvisionerNodeWork(BaseModel):
    message: str
    cluster_id: str
    node_id: str
    job_id: str


class ProvisionerPhaseView(BaseModel):
    name: str
    status: str
    started_at: str | None
    completed_at: str | None
    message: str | None


class ProvisionerJobView(BaseModel):
    id: str
    cluster_id: str | None
    type: str
    status: str
    progress: int
    phases: list[ProvisionerPhaseView]
    error_message: str | None
    created_at: str
    started_at: str | None
    completed_at: str | None


class ProvisionerJobDetails(ProvisionerJobView):
    logs: list[str]


class ProvisionerTemplateView(BaseModel):
    id: str
    name: str
    description: str | None
    topology: ProvisionerTopologyView
    components: ProvisionerComponentsView
    created_at: str
    updated_at: str


class ProvisionerUserView(BaseModel):
    id: str
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: str


class ProvisionerAuditView(BaseModel):
    id: str
    user_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    details: dict[str, Any] | None
    ip_address: str | None
    created_at: str
