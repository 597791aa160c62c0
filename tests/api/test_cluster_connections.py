"""The lists inside a cluster are connections: `first/after` or `page/pageSize`, `totalCount`,
ordered by namespace and name, filtered as before, and priced by their page size.

Every expectation comes from the kubesim store the cluster serves (its controllers stay off, so
nothing changes between two pages).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# field → (kubesim group, plural, arguments)
LISTS = {
    "pods": ("", "pods", ""),
    "services": ("", "services", ""),
    "configMaps": ("", "configmaps", ""),
    "secrets": ("", "secrets", ""),
    "events": ("", "events", ""),
    "nodes": ("", "nodes", ""),
    "namespaces": ("", "namespaces", ""),
    "ingresses": ("networking.k8s.io", "ingresses", ""),
    "persistentVolumeClaims": ("", "persistentvolumeclaims", ""),
    "persistentVolumes": ("", "persistentvolumes", ""),
    "storageClasses": ("storage.k8s.io", "storageclasses", ""),
    "resourceQuotas": ("", "resourcequotas", ""),
    "horizontalPodAutoscalers": ("autoscaling", "horizontalpodautoscalers", ""),
    "customResourceDefinitions": ("apiextensions.k8s.io", "customresourcedefinitions", ""),
    "resources": ("", "limitranges", 'kind:"limitranges", '),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(api: Api, provider_token: str, database_url: str) -> AsyncIterator[tuple[TenantUsers, str, Fleet]]:
    async with start_fleet(1, profile="small", seed=17, controllers=False) as fleet:
        tenant = await make_tenant(api, provider_token, roles=("viewer",), maxClusters=1)
        yield tenant, await register_cluster(api, tenant, fleet, "paged"), fleet


def stored(fleet: Fleet, group: str, plural: str, namespace: str | None = None) -> list[tuple[str, str]]:
    """(namespace, name) of the objects the cluster holds, in the order every list keeps."""
    state = fleet.cluster("cluster-0").state
    rt = next(r for r in state.resources.all() if r.group == group and r.plural == plural)
    found = [(o["metadata"].get("namespace") or "", o["metadata"]["name"]) for o in state.scan(rt, namespace)]
    return sorted(found)


async def page(api: Api, token: str, cluster_id: str, field: str, arguments: str) -> dict[str, Any]:
    call = f"{field}({arguments})" if arguments else field
    query = f"""query($i:ID!){{ cluster(id:$i){{ {call} {{ totalCount
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor node {{ name namespace }} }}
      nodes {{ name }} errors {{ code }} }} }} }}"""
    found: dict[str, Any] = (await api.ok(query, {"i": cluster_id}, token))["cluster"][field]
    return found


def keys(found: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["namespace"] or "", e["node"]["name"]) for e in found["edges"]]


async def test_every_list_pages_in_namespace_and_name_order(cluster: tuple[TenantUsers, str, Fleet], api: Api) -> None:
    tenant, cluster_id, fleet = cluster
    viewer = tenant.tokens["viewer"]
    for field, (group, plural, arguments) in LISTS.items():
        expected = stored(fleet, group, plural)
        first = await page(api, viewer, cluster_id, field, f"{arguments}first:2")
        assert first["totalCount"] == len(expected), field
        assert keys(first) == expected[:2], field
        assert [n["name"] for n in first["nodes"]] == [name for _, name in expected[:2]], field
        assert first["pageInfo"]["hasNextPage"] == (len(expected) > 2) and not first["pageInfo"]["hasPreviousPage"]
        assert first["errors"] == [], field
        if len(expected) > 2:
            after = first["pageInfo"]["endCursor"]
            second = await page(api, viewer, cluster_id, field, f'{arguments}first:2, after:"{after}"')
            assert keys(second) == expected[2:4] and second["pageInfo"]["hasPreviousPage"], field
            numbered = await page(api, viewer, cluster_id, field, f"{arguments}page:2, pageSize:2")
            assert keys(numbered) == keys(second), field


async def test_walking_the_cursors_reads_every_pod_once(cluster: tuple[TenantUsers, str, Fleet], api: Api) -> None:
    tenant, cluster_id, fleet = cluster
    expected, seen, after = stored(fleet, "", "pods"), [], ""
    while True:
        found = await page(api, tenant.tokens["viewer"], cluster_id, "pods", f"first:7{after}")
        seen += keys(found)
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = f', after:"{found["pageInfo"]["endCursor"]}"'
    assert seen == expected and len(expected) > 20
    default = await page(api, tenant.tokens["viewer"], cluster_id, "pods", "")
    assert len(default["edges"]) == 20 and default["pageInfo"]["hasNextPage"], "a page, never every pod at once"


async def test_filters_still_apply_before_paging(cluster: tuple[TenantUsers, str, Fleet], api: Api) -> None:
    tenant, cluster_id, fleet = cluster
    viewer = tenant.tokens["viewer"]
    shop = stored(fleet, "", "pods", "shop")
    found = await page(api, viewer, cluster_id, "pods", 'namespace:"shop", first:100')
    assert keys(found) == shop and found["totalCount"] == len(shop)
    state = fleet.cluster("cluster-0").state
    rt = state.resources.get("", "v1", "pods")
    assert rt is not None
    web = sorted(("shop", p["metadata"]["name"]) for p in state.scan(rt, "shop")
                 if (p["metadata"].get("labels") or {}).get("app") == "web")
    labelled = await page(api, viewer, cluster_id, "pods", 'namespace:"shop", labelSelector:"app=web", first:1')
    assert labelled["totalCount"] == len(web) > 1 and keys(labelled) == web[:1]
    query = """query($i:ID!){ cluster(id:$i){ workloads(kind:"Deployment", first:100){ totalCount
      nodes { kind namespace name } } } }"""
    workloads = (await api.ok(query, {"i": cluster_id}, viewer))["cluster"]["workloads"]
    assert [(w["namespace"], w["name"]) for w in workloads["nodes"]] == stored(fleet, "apps", "deployments")
    every = """query($i:ID!){ cluster(id:$i){ workloads(first:100){ totalCount nodes { kind namespace name } } } }"""
    mixed = (await api.ok(every, {"i": cluster_id}, viewer))["cluster"]["workloads"]["nodes"]
    assert [(w["namespace"], w["name"], w["kind"]) for w in mixed] == sorted(
        (w["namespace"], w["name"], w["kind"]) for w in mixed
    )
    assert {w["kind"] for w in mixed} >= {"Deployment", "StatefulSet", "DaemonSet", "CronJob"}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [("first:101", "first"), ("pageSize:-1", "pageSize"), ('after:"not-a-cursor"', "after"), ("page:0", "page")],
)
async def test_a_bad_page_is_bad_user_input(
    cluster: tuple[TenantUsers, str, Fleet], api: Api, arguments: str, field: str
) -> None:
    tenant, cluster_id, _ = cluster
    query = f"query($i:ID!){{ cluster(id:$i){{ pods({arguments}) {{ totalCount }} }} }}"
    error = await api.error(query, {"i": cluster_id}, tenant.tokens["viewer"])
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert [d["field"] for d in error["extensions"]["details"]] == [field]


async def test_a_list_is_priced_by_its_page_size(cluster: tuple[TenantUsers, str, Fleet], api: Api) -> None:
    tenant, cluster_id, _ = cluster

    async def cost(field: str, size: int) -> int:
        query = f"query($i:ID!){{ cluster(id:$i){{ {field}(first:{size}) {{ nodes {{ name }} }} }} }}"
        body = await api.run(query, {"i": cluster_id}, tenant.tokens["viewer"])
        assert not body.get("errors"), body
        return int(body["extensions"]["cost"]["requested"])

    for field in ("pods", "workloads", "nodes", "namespaces", "events", "configMaps"):
        assert await cost(field, 50) - await cost(field, 5) == 45 * 2, field  # nodes and name, per item
