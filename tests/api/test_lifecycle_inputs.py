"""Creating clusters: per-field validation of both documented inputs, limits, and templates.

Nothing here needs an operation to run: clusters are created without provisioning them."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.lifecycle import CREATE, VERSION, cks_input

PROVISION = """mutation($t:ID!,$in:ProvisionClusterInput!){ provisionCluster(tenantId:$t,input:$in){
  cluster{ id spec } operation{ id } } }"""
CLUSTERS = "query($t:ID!){ clusters(tenantId:$t){ totalCount } }"
TEMPLATE = """mutation($t:ID!,$in:ClusterTemplateInput!){ createClusterTemplate(tenantId:$t,input:$in){
  id name shape spec } }"""
FROM_TEMPLATE = """mutation($t:ID!,$i:ID!,$o:JSON!){
  createClusterFromTemplate(tenantId:$t, templateId:$i, overrides:$o){
  cluster{ id name version spec nodePools{ name nodeCount } } operation{ id } } }"""


def fields(error: dict[str, Any]) -> set[str]:
    return {d["field"] for d in error["extensions"]["details"]}


def provisioner_input(name: str, **overrides: Any) -> dict[str, Any]:
    nodes = [
        {"name": f"cp-{i}", "role": "control-plane", "ipAddress": f"192.168.60.{10 + i}", "osType": "ubuntu22"}
        for i in range(3)
    ]
    data: dict[str, Any] = {
        "name": name,
        "topology": {"ha": True, "controlPlaneCount": 3, "workerCount": 0},
        "components": {"kubernetesVersion": VERSION, "cni": "cilium", "ingress": "traefik"},
        "nodes": nodes,
        "sshConfig": {"username": "root", "authMethod": "password", "password": "s3cret"},
        "provisionImmediately": False,
    }
    return data | overrides


async def test_every_problem_of_a_create_request_is_reported_at_once(api: Api, tenant_a: TenantUsers) -> None:
    operator = tenant_a.tokens["operator"]
    before = (await api.ok(CLUSTERS, {"t": tenant_a.id}, operator))["clusters"]["totalCount"]
    bad = cks_input(
        "Bad_Name",
        version="1.99.0",
        nodePools=[{"name": "general", "nodeCount": -1}],
        networking={"cni": "weave", "serviceCidr": "10.96.0.0/12", "podCidr": "10.96.0.0/16"},
    )
    error = await api.error(CREATE, {"t": tenant_a.id, "in": bad}, operator)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert {"name", "version", "nodePools[0].nodeCount", "networking.cni"} <= fields(error), error
    assert any(f.startswith("networking.") and "Cidr" in f for f in fields(error)), "overlapping networks"

    even = provisioner_input("metal-even", topology={"ha": True, "controlPlaneCount": 2, "workerCount": 0})
    error = await api.error(PROVISION, {"t": tenant_a.id, "in": even}, operator)
    assert "topology.controlPlaneCount" in fields(error)
    keyless = provisioner_input("metal-keyless", sshConfig={"username": "root", "authMethod": "private_key"})
    assert "sshConfig.privateKey" in fields(await api.error(PROVISION, {"t": tenant_a.id, "in": keyless}, operator))
    after = (await api.ok(CLUSTERS, {"t": tenant_a.id}, operator))["clusters"]["totalCount"]
    assert after == before, "a refused request writes nothing"


async def test_names_are_unique_and_the_tenant_limit_holds(api: Api, provider_token: str) -> None:
    tenant = await make_tenant(api, provider_token, roles=("operator",), maxClusters=1)
    operator = tenant.tokens["operator"]
    first = await api.ok(CREATE, {"t": tenant.id, "in": cks_input("only-one", provisionImmediately=False)}, operator)
    assert first["createCluster"]["operation"] is None
    again = await api.error(CREATE, {"t": tenant.id, "in": cks_input("only-one", provisionImmediately=False)}, operator)
    assert again["extensions"]["code"] == "CONFLICT"
    over = await api.error(
        CREATE, {"t": tenant.id, "in": cks_input("second-one", provisionImmediately=False)}, operator
    )
    assert over["extensions"]["code"] == "CONFLICT" and "limit of 1" in over["message"]
    deleted = "mutation($i:ID!){ deleteCluster(id:$i){ status } }"
    await api.ok(deleted, {"i": first["createCluster"]["cluster"]["id"]}, tenant.tokens["tenant_admin"])
    reused = await api.ok(CREATE, {"t": tenant.id, "in": cks_input("only-one", provisionImmediately=False)}, operator)
    assert reused["createCluster"]["cluster"]["id"] != first["createCluster"]["cluster"]["id"], "a deleted name is free"


async def test_ssh_secrets_are_never_returned(api: Api, tenant_a: TenantUsers) -> None:
    operator = tenant_a.tokens["operator"]
    created = (await api.ok(PROVISION, {"t": tenant_a.id, "in": provisioner_input("metal-ha")}, operator))[
        "provisionCluster"
    ]
    spec = created["cluster"]["spec"]
    assert spec["sshConfig"] == {"username": "root", "authMethod": "password"} and "s3cret" not in str(spec)
    assert created["operation"] is None and spec["ha"] is True and spec["controlPlaneCount"] == 3


async def test_templates_and_clusters_made_from_them(api: Api, tenant_a: TenantUsers) -> None:
    operator = tenant_a.tokens["operator"]
    base = {k: v for k, v in cks_input("unused").items() if k != "name"} | {"provisionImmediately": False}
    template = (await api.ok(TEMPLATE, {"t": tenant_a.id, "in": {"name": "standard", "spec": base}}, operator))[
        "createClusterTemplate"
    ]
    assert template["shape"] == "cks" and template["spec"]["version"] == VERSION
    secret = {"name": "leaky", "shape": "provisioner", "spec": {"sshConfig": {"password": "x"}}}
    assert await api.code(TEMPLATE, {"t": tenant_a.id, "in": secret}, operator) == "BAD_USER_INPUT"
    overrides = {"name": "from-standard", "nodePools": [{"name": "big", "nodeCount": 3, "maxCount": 6}]}
    made = (await api.ok(FROM_TEMPLATE, {"t": tenant_a.id, "i": template["id"], "o": overrides}, operator))[
        "createClusterFromTemplate"
    ]
    assert made["cluster"]["name"] == "from-standard" and made["cluster"]["version"] == "v" + VERSION
    assert made["cluster"]["nodePools"] == [{"name": "big", "nodeCount": 3}]
    assert made["cluster"]["spec"]["networking"]["cni"] == "calico", "the template's networking was kept"
    bad = {"name": "from-standard-2", "version": "0.1"}
    error = await api.error(FROM_TEMPLATE, {"t": tenant_a.id, "i": template["id"], "o": bad}, operator)
    assert "version" in fields(error)

    update = 'mutation($i:ID!){ updateClusterTemplate(id:$i, input:{description:"the usual"}){ description } }'
    assert (await api.ok(update, {"i": template["id"]}, operator))["updateClusterTemplate"][
        "description"
    ] == "the usual"
    listed = await api.ok("query($t:ID!){ clusterTemplates(tenantId:$t){ id } }", {"t": tenant_a.id}, operator)
    assert template["id"] in {t["id"] for t in listed["clusterTemplates"]}
    await api.ok("mutation($i:ID!){ deleteClusterTemplate(id:$i){ ok } }", {"i": template["id"]}, operator)
    gone = "query($i:ID!){ clusterTemplate(id:$i){ id } }"
    assert await api.code(gone, {"i": template["id"]}, operator) == "NOT_FOUND"
