"""Provisioner samples: templates (seed 004, "Template Endpoints")."""

from __future__ import annotations

import uuid
from typing import Any

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

CREATE = """mutation($t:ID!,$in:ClusterTemplateInput!){ createClusterTemplate(tenantId:$t, input:$in){ id } }"""


def template_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Three control planes, Calico, NGINX ingress",
        "topology": {"ha": True, "control_plane_count": 3, "worker_count": 3},
        "components": {"kubernetes_version": "1.28.3", "cni": "calico", "ingress": "nginx", "runtime": "containerd"},
    }


async def _template(world: World) -> str:
    spec = {
        "topology": {"ha": False, "controlPlaneCount": 1, "workerCount": 2},
        "components": {"kubernetesVersion": "1.28.3", "cni": "cilium", "ingress": "traefik"},
    }
    given = {"name": f"tpl-{uuid.uuid4().hex[:8]}", "shape": "provisioner", "spec": spec}
    return str((await world.gql(CREATE, {"t": world.tenant.id, "in": given}))["createClusterTemplate"]["id"])


@sample(foreign=False)
async def list_templates(world: World) -> Request:
    if "provisioner template" not in world.kept:
        world.kept["provisioner template"] = await _template(world)
    return Request(query={"page": 1, "page_size": 20}, role="viewer")


@sample(weak="viewer", foreign=False, writes=True)
async def create_template(world: World) -> Request:
    return Request(body=template_body(f"ha-calico-{uuid.uuid4().hex[:8]}"), role="operator")


@sample()
async def get_template(world: World) -> Request:
    if "provisioner template" not in world.kept:
        world.kept["provisioner template"] = await _template(world)
    return Request(path={"id": world.kept["provisioner template"]}, role="viewer")


@sample(weak="viewer", writes=True)
async def delete_template(world: World) -> Request:
    return Request(path={"id": await _template(world)}, role="operator")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/templates"): list_templates,
    ("POST", "/api/v1/templates"): create_template,
    ("GET", "/api/v1/templates/{id}"): get_template,
    ("DELETE", "/api/v1/templates/{id}"): delete_template,
}
