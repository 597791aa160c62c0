"""CKS log samples (seed 001: a cluster's and a workload's logs, "Tenant-Scoped Logs"), on the
world's cluster: the `shop` app's pods and its `web` Deployment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.rest.values import namespace_id, workload_id
from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World

LOGS = "/api/tenants/{tenantId}/logs"
ENTRIES = """query($c:ID!,$n:String!){ cluster(id:$c){ logEntries(namespace:$n, tail:5){ entries { id } } } }"""


async def kept_entry(world: World) -> str:
    """The ID of a line of the `shop` namespace's log."""
    if "cks log entry" not in world.kept:
        found = await world.gql(ENTRIES, {"c": world.cluster_id, "n": NAMESPACE})
        world.kept["cks log entry"] = found["cluster"]["logEntries"]["entries"][-1]["id"]
    return str(world.kept["cks log entry"])


@sample()
async def cluster_logs(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": world.cluster_id}, query={"since": "1h", "tail": 100})


@sample()
async def workload_logs(world: World) -> Request:
    path = {"tenantId": world.tenant.id, "id": workload_id(world.cluster_id, "Deployment", NAMESPACE, "web")}
    return Request(path=path, query={"since": "15m", "tail": 200})


@sample()
async def search_logs(world: World) -> Request:
    now = datetime.now(UTC).replace(microsecond=0)
    query = {
        "clusterId": world.cluster_id,
        "namespaceId": namespace_id(world.cluster_id, NAMESPACE),
        "since": (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "until": (now + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "severity": "info",
        "text": "GET",
        "page": 1,
        "pageSize": 20,
    }
    return Request(path={"tenantId": world.tenant.id}, query=query)


@sample()
async def log_details(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": await kept_entry(world)})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/tenants/{tenantId}/clusters/{id}/logs"): cluster_logs,
    ("GET", "/api/tenants/{tenantId}/workloads/{id}/logs"): workload_logs,
    ("GET", f"{LOGS}/search"): search_logs,
    ("GET", f"{LOGS}/{{id}}"): log_details,
}
