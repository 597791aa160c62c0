"""The Provisioner's template paths: a topology and components to create clusters from, stored
as Fleetgraph cluster templates in the Provisioner's shape (`templateId` on create uses them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.rest.provisioner import vocabulary
from app.rest.provisioner.answers import ProvisionerTemplateView, listed
from app.rest.provisioner.bodies import ProvisionerComponents, ProvisionerTopology
from app.rest.provisioner.caller import CALLER, in_tenant, tenant_of
from app.rest.rows import Call, Data, Listing, Row

DOC = "templates.graphql"
TAG = "Provisioner: templates"
TEMPLATE = "/api/v1/templates/{id}"


class CreateTemplate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    topology: ProvisionerTopology
    components: ProvisionerComponents


def _create(call: Call, data: Data) -> Data:
    assert isinstance(call.body, CreateTemplate)
    body = call.body
    spec = {"topology": body.topology.model_dump(), "components": body.components.model_dump()}
    given = {"name": body.name, "description": body.description, "shape": "provisioner", "spec": spec}
    return {"tenantId": tenant_of(data), "input": {k: v for k, v in given.items() if v is not None}}


def template_view(value: dict[str, Any], _: Call) -> dict[str, Any]:
    spec = value.get("spec") or {}
    return {
        "id": value["id"],
        "name": value["name"],
        "description": value.get("description") or None,
        "topology": vocabulary.topology(spec),
        "components": vocabulary.components(spec),
        "created_at": value["created_at"],
        "updated_at": value["updated_at"],
    }


ROWS = [
    Row(
        "GET",
        "/api/v1/templates",
        DOC,
        (CALLER, "ProvisionerTemplates"),
        "List templates",
        TAG,
        variables=in_tenant,
        pick="clusterTemplates",
        listing=Listing("data"),
        shape=template_view,
        response=listed(ProvisionerTemplateView),
    ),
    Row(
        "POST",
        "/api/v1/templates",
        DOC,
        (CALLER, "ProvisionerCreateTemplate"),
        "Create template",
        TAG,
        body=CreateTemplate,
        variables=_create,
        pick="createClusterTemplate",
        shape=template_view,
        status=201,
        response=ProvisionerTemplateView,
    ),
    Row(
        "GET",
        TEMPLATE,
        DOC,
        ("ProvisionerTemplateDetails",),
        "Get template",
        TAG,
        pick="clusterTemplate",
        shape=template_view,
        response=ProvisionerTemplateView,
    ),
    Row(
        "DELETE",
        TEMPLATE,
        DOC,
        ("ProvisionerDeleteTemplate",),
        "Delete template",
        TAG,
        pick="deleteClusterTemplate",
        status=204,
    ),
]
