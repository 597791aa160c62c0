"""Saved topology snapshots are writes: a viewer cannot save one, and each user and tenant keeps a
bounded number, freed again by deleting (here 2 per user and 3 per tenant)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.db.session import Database
from app.seed import ensure_provider_admin
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.databases import fresh_database
from tests.support.server import serving

ROOT = ("root@snapshots.test", "snapshot-admin-pass-1")
SAVE = 'mutation($c:ID!,$n:String!){ saveTopologySnapshot(clusterId:$c, name:$n, namespace:"shop"){ id name } }'
DELETE = "mutation($i:ID!){ deleteTopologySnapshot(id:$i){ ok } }"
LIST = "query($c:ID!){ topologySnapshots(clusterId:$c){ id } }"


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Api, TenantUsers, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('snapshots') / Path('s.db')}"
    await fresh_database(url)
    db = Database(url)
    await ensure_provider_admin(db, *ROOT)
    await db.dispose()
    settings = load_settings(database_url=url, secret_key="snapshot-test-secret-key-0123456789abcdef",
                             cluster_health_seconds=0, operation_workers=0, topology_snapshots_per_user=2,
                             topology_snapshots_per_tenant=3)  # fmt: skip
    fleet: Fleet
    async with (
        start_fleet(1, profile="small", seed=3) as fleet,
        serving(create_app(settings)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        api = Api(http)
        root = (await api.login(*ROOT))["accessToken"]
        tenant = await make_tenant(api, root, roles=("operator", "developer", "viewer"))
        cluster = await register_cluster(api, tenant, fleet, "snapshots")
        yield api, tenant, cluster


async def test_a_viewer_cannot_save_a_snapshot(setup: tuple[Api, TenantUsers, str]) -> None:
    api, tenant, cluster = setup
    assert await api.code(SAVE, {"c": cluster, "n": "mine"}, tenant.tokens["viewer"]) == "FORBIDDEN"
    assert (await api.ok(LIST, {"c": cluster}, tenant.tokens["viewer"]))["topologySnapshots"] == []


async def test_each_user_and_the_tenant_keep_a_bounded_number(setup: tuple[Api, TenantUsers, str]) -> None:
    api, tenant, cluster = setup
    operator, developer = tenant.tokens["operator"], tenant.tokens["developer"]
    first = (await api.ok(SAVE, {"c": cluster, "n": "one"}, operator))["saveTopologySnapshot"]
    await api.ok(SAVE, {"c": cluster, "n": "two"}, operator)
    refused = await api.error(SAVE, {"c": cluster, "n": "three"}, operator)
    assert refused["extensions"]["code"] == "FORBIDDEN" and "at most 2" in refused["message"]
    await api.ok(SAVE, {"c": cluster, "n": "theirs"}, developer)  # the developer's own allowance
    ceiling = await api.error(SAVE, {"c": cluster, "n": "more"}, developer)
    assert "this tenant keeps at most 3" in ceiling["message"]
    assert await api.code(DELETE, {"i": first["id"]}, tenant.tokens["viewer"]) == "FORBIDDEN"
    assert (await api.ok(DELETE, {"i": first["id"]}, operator))["deleteTopologySnapshot"]["ok"]
    assert (await api.ok(SAVE, {"c": cluster, "n": "three"}, operator))["saveTopologySnapshot"]["name"] == "three"
    kept = (await api.ok(LIST, {"c": cluster}, operator))["topologySnapshots"]
    assert len(kept) == 3 and first["id"] not in {s["id"] for s in kept}
    logs = await api.ok('{ auditLogs(filter:{action:"topology.snapshot*"}) { nodes { action targetId } } }',
                        token=tenant.tokens["tenant_admin"])  # fmt: skip
    actions = [(n["action"], n["targetId"]) for n in logs["auditLogs"]["nodes"]]
    assert ("topology.snapshot_deleted", first["id"]) in actions
