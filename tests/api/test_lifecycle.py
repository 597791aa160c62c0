"""Cluster lifecycle end to end on the simulated provider: real kubesim clusters made through its
control API, operations run by the app's runner, progress read over a real websocket."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from app.db.models import Cluster
from app.services import Services
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.lifecycle import (
    CANCEL,
    CLUSTER,
    CREATE,
    DELETE,
    DEPLOYMENTS,
    DRAIN,
    NEXT_VERSION,
    OPERATION,
    REMOVE,
    RETRY,
    SCALE,
    TOO_FAR,
    UPGRADE,
    VERSION,
    cks_input,
    finished,
    follow,
    guard_a_pod,
    until_logged,
)
from tests.support.server import serving
from tests.support.sshd import SshServer, require_sshd, running_sshd


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def simulator() -> AsyncIterator[Fleet]:
    async with start_fleet(0, profile=None, control=True) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lifecycle(services: Services, simulator: Fleet) -> AsyncIterator[tuple[Api, str]]:
    """The app with a runner and the simulator: one replica of the deployment the other tests use."""
    settings = services.settings.model_copy(
        update={
            "operation_workers": 2,
            "operation_poll_seconds": 0.2,
            "operation_lease_seconds": 3.0,
            "simulator_url": f"http://127.0.0.1:{simulator.control_port}",
            "simulated_phase_seconds": 0.05,
            "simulated_faults": "install-addons@faulty-",
        }
    )
    own = Services.from_settings(settings)
    async with serving(create_app(settings, own)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Api(http), url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenant(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=("operator", "viewer"), maxClusters=4)


async def test_full_lifecycle_on_the_simulated_provider(
    lifecycle: tuple[Api, str], tenant: TenantUsers, simulator: Fleet
) -> None:
    api, url = lifecycle
    operator = tenant.tokens["operator"]
    created = (await api.ok(CREATE, {"t": tenant.id, "in": cks_input("shop-prod")}, operator))["createCluster"]
    cluster, operation = created["cluster"], created["operation"]
    assert cluster["status"] == "provisioning" and cluster["origin"] == "provisioned"
    assert cluster["nodePools"][0]["nodeCount"] == 2 and operation["status"] in ("queued", "running")
    assert [p["name"] for p in operation["phases"]][:2] == ["validate", "create-infrastructure"]

    updates = await follow(url, operator, operation["id"])
    assert updates[0]["kind"] == "snapshot" and updates[-1]["operation"]["status"] == "success"
    progress = [u["operation"]["progress"] for u in updates]
    assert progress == sorted(progress) and progress[-1] == 100 and len(set(progress)) > 2
    lines = [line["line"] for u in updates for line in u["logLines"]]
    assert "register: done" in lines and len(lines) == len(set(lines)), "each log line arrives once"

    state = (await api.ok(CLUSTER, {"id": cluster["id"]}, operator))["cluster"]
    assert state["status"] == "connected" and state["version"] == "v" + VERSION
    assert len(state["nodes"]["nodes"]) == 2 and all(n["ready"] for n in state["nodes"]["nodes"])
    addons = {d["name"] for d in (await api.ok(DEPLOYMENTS, {"c": cluster["id"]}, operator))["resources"]}
    assert {"addon-calico", "addon-metrics-server"} <= addons, "workloads are visible through the fleet queries"

    notes = await api.ok("{ notifications(unreadOnly:true){ id kind title targetId } }", token=operator)
    assert {"kind": "operation.success", "targetId": operation["id"]} in [
        {"kind": n["kind"], "targetId": n["targetId"]} for n in notes["notifications"]
    ]

    marked = await api.ok("mutation { markNotificationsRead { count } }", token=operator)
    assert marked["markNotificationsRead"]["count"] >= 1

    pool_id = state["nodePools"][0]["id"]
    scale = await api.ok(SCALE, {"id": cluster["id"], "p": [{"id": pool_id, "nodeCount": 3}]}, operator)
    note = await asyncio.wait_for(next_notification(url, operator), timeout=60)
    assert note == {"kind": "operation.success", "targetId": scale["scaleCluster"]["id"], "read": False}
    others = asyncio.wait_for(next_notification(url, tenant.tokens["viewer"]), timeout=1.5)
    with pytest.raises(TimeoutError):
        await others  # the operator's notifications are theirs alone
    assert (await finished(api, operator, scale["scaleCluster"]["id"]))["status"] == "success"
    marked = await api.ok("mutation { markNotificationsRead { count } }", token=operator)
    assert marked["markNotificationsRead"]["count"] == 1
    assert (await api.ok("{ notifications(unreadOnly:true){ id } }", token=operator))["notifications"] == []
    state = (await api.ok(CLUSTER, {"id": cluster["id"]}, operator))["cluster"]
    assert len(state["nodes"]["nodes"]) == 3 and state["nodePools"][0]["nodeCount"] == 3

    too_far = await api.error(UPGRADE, {"id": cluster["id"], "v": TOO_FAR}, operator)
    assert too_far["extensions"]["code"] == "BAD_USER_INPUT" and "1.31" in too_far["message"]
    too_many = {"id": cluster["id"], "p": [{"id": pool_id, "nodeCount": 9}]}
    assert await api.code(SCALE, too_many, operator) == "BAD_USER_INPUT", "maxCount is 4"
    upgrade = await api.ok(UPGRADE, {"id": cluster["id"], "v": NEXT_VERSION}, operator)
    assert (await finished(api, operator, upgrade["upgradeCluster"]["id"]))["status"] == "success"
    state = (await api.ok(CLUSTER, {"id": cluster["id"]}, operator))["cluster"]
    assert state["version"] == "v" + NEXT_VERSION

    guarded = await guard_a_pod(api, tenant, cluster["id"])
    held = (await api.ok(DRAIN, {"c": cluster["id"], "n": guarded}, operator))["drainNode"]
    await until_logged(api, operator, held["id"], "waiting for disruption budgets")
    assert (await api.ok(CANCEL, {"id": held["id"]}, operator))["cancelOperation"]["cancelRequested"] is True
    stopped = await finished(api, operator, held["id"])
    assert stopped["status"] == "cancelled"
    assert {p["name"]: p["status"] for p in stopped["phases"]} == {"cordon": "success", "evict-pods": "cancelled"}

    node = next(n["name"] for n in state["nodes"]["nodes"] if n["name"] != guarded)
    drain = await api.ok(DRAIN, {"c": cluster["id"], "n": node}, operator)
    assert (await finished(api, operator, drain["drainNode"]["id"]))["status"] == "success"
    state = (await api.ok(CLUSTER, {"id": cluster["id"]}, operator))["cluster"]
    assert next(n for n in state["nodes"]["nodes"] if n["name"] == node)["unschedulable"] is True

    removal = await api.ok(REMOVE, {"c": cluster["id"], "n": node}, operator)
    assert (await finished(api, operator, removal["removeNode"]["id"]))["status"] == "success"
    state = (await api.ok(CLUSTER, {"id": cluster["id"]}, operator))["cluster"]
    assert node not in {n["name"] for n in state["nodes"]["nodes"]} and state["nodePools"][0]["nodeCount"] == 2

    assert await api.code(DELETE, {"id": cluster["id"], "d": True}, operator) == "FORBIDDEN"
    deleted = await api.ok(DELETE, {"id": cluster["id"], "d": True}, tenant.tokens["tenant_admin"])
    operation_id = deleted["deleteCluster"]["operation"]["id"]
    assert (await finished(api, operator, operation_id))["status"] == "success"
    state = (await api.ok("query($id:ID!){ cluster(id:$id){ status } }", {"id": cluster["id"]}, operator))["cluster"]
    assert state["status"] == "deleted"
    async with httpx.AsyncClient() as http:
        listed = (await http.get(f"http://127.0.0.1:{simulator.control_port}/clusters")).json()["clusters"]
    assert not [c for c in listed if c["name"].startswith("shop-prod-")], "the simulated cluster is gone"
    audit = await api.ok(
        'query{ auditLogs(filter:{action:"operation.*"}, pageSize:100){ nodes{ action targetId } } }',
        token=tenant.tokens["tenant_admin"],
    )
    trail = [(a["action"], a["targetId"]) for a in audit["auditLogs"]["nodes"]]
    for action in ("operation.queued", "operation.started", "operation.success"):
        assert (action, operation["id"]) in trail, (action, trail)


async def test_a_failed_phase_keeps_its_logs_and_retry_resumes_from_it(
    lifecycle: tuple[Api, str], tenant: TenantUsers
) -> None:
    api, _ = lifecycle
    operator = tenant.tokens["operator"]
    created = (await api.ok(CREATE, {"t": tenant.id, "in": cks_input("faulty-one")}, operator))["createCluster"]
    failed = await finished(api, operator, created["operation"]["id"])
    assert failed["status"] == "failed" and failed["error"].startswith("install-addons:")
    phases = {p["name"]: p for p in failed["phases"]}
    assert phases["install-addons"]["status"] == "failed" and "simulated fault" in phases["install-addons"]["message"]
    assert phases["join-nodes"]["status"] == "success" and phases["register"]["status"] == "pending"
    assert any(line["phase"] == "install-addons" and "failed" in line["line"] for line in failed["logs"])
    status = "query($id:ID!){ cluster(id:$id){ status lastError } }"
    cluster = (await api.ok(status, {"id": created["cluster"]["id"]}, operator))["cluster"]
    assert cluster["status"] == "failed" and "install-addons" in cluster["lastError"]

    assert await api.code(CANCEL, {"id": failed["id"]}, operator) == "CONFLICT"
    retried = (await api.ok(RETRY, {"id": failed["id"]}, operator))["retryOperation"]
    assert retried["status"] == "queued"
    reopened = (await api.ok(status, {"id": created["cluster"]["id"]}, operator))["cluster"]["status"]
    assert reopened in ("provisioning", "connected")
    done = await finished(api, operator, failed["id"])
    assert done["status"] == "success" and done["attempts"] == 2
    started = [line["line"] for line in done["logs"] if line["line"].endswith(": started")]
    assert started.count("create-infrastructure: started") == 1, "finished phases are not run again"
    assert started.count("install-addons: started") == 2
    assert await api.code(RETRY, {"id": failed["id"]}, operator) == "CONFLICT", "only a failed one can be retried"


async def test_lifecycle_permissions_and_tenancy(
    lifecycle: tuple[Api, str], tenant: TenantUsers, tenant_b: TenantUsers
) -> None:
    api, _ = lifecycle
    assert await api.code(CREATE, {"t": tenant.id, "in": cks_input("viewer-try")}, tenant.tokens["viewer"]) == (
        "FORBIDDEN"
    )
    outsider = tenant_b.tokens["tenant_admin"]
    assert await api.code(CREATE, {"t": tenant.id, "in": cks_input("other-try")}, outsider) == "NOT_FOUND"
    listed = await api.ok(
        "query($t:ID!){ operations(tenantId:$t){ totalCount nodes{ id } } }", {"t": tenant.id}, tenant.tokens["viewer"]
    )
    assert listed["operations"]["totalCount"] >= 1
    operation_id = listed["operations"]["nodes"][0]["id"]
    assert await api.code(OPERATION, {"id": operation_id}, outsider) == "NOT_FOUND"
    assert await api.code(RETRY, {"id": operation_id}, outsider) == "NOT_FOUND"
    assert await api.code(CANCEL, {"id": operation_id}, tenant.tokens["viewer"]) == "FORBIDDEN"


async def next_notification(url: str, token: str) -> dict[str, Any]:
    """The caller's first notification over a live `notifications(includeUnread:true)` stream: the
    unread ones come first, so one that arrived before the stream opened is not missed."""
    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {token}"}
    )
    query = gql("subscription { notifications(includeUnread:true) { kind targetId read } }")
    async with Client(transport=transport) as session:
        async for result in session.subscribe(query):
            return dict(result["notifications"])
    raise AssertionError("the notifications stream ended")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    with running_sshd(require_sshd(), tmp_path_factory.mktemp("sshd")) as server:
        yield server


TEST_SSH = """mutation($n:[SshNodeInput!]!,$s:SshConfigInput!){ testSshConnection(nodes:$n, sshConfig:$s){
  success results{ node success message hostname cpus checks{ name ok detail } } } }"""
PROVISION = """mutation($t:ID!,$in:ProvisionClusterInput!){ provisionCluster(tenantId:$t,input:$in){
  cluster{ id spec } operation{ id provider phases{ name } } } }"""


async def test_ssh_test_connection_and_provisioning_preflight_over_real_ssh(
    lifecycle: tuple[Api, str], tenant: TenantUsers, sshd: SshServer, services: Services
) -> None:
    api, _ = lifecycle
    operator = tenant.tokens["operator"]
    node = {"name": "cp-1", "role": "control-plane", "ipAddress": sshd.host, "sshPort": sshd.port, "osType": "rhel9"}
    ssh = {"username": sshd.username, "authMethod": "private_key", "privateKey": sshd.private_key}
    tested = (await api.ok(TEST_SSH, {"n": [node], "s": ssh}, operator))["testSshConnection"]
    assert tested["success"] is True
    assert tested["results"][0]["message"] == f"Connected successfully. Hostname: {socket.gethostname()}"
    assert tested["results"][0]["cpus"] >= 1
    wrong = (await api.ok(TEST_SSH, {"n": [node | {"sshPort": 1}], "s": ssh}, operator))["testSshConnection"]
    assert wrong["success"] is False and "Could not reach" in wrong["results"][0]["message"]

    data = {
        "name": "metal-one",
        "topology": {"ha": False, "controlPlaneCount": 1, "workerCount": 0},
        "components": {"kubernetesVersion": VERSION, "cni": "calico", "ingress": "nginx"},
        "nodes": [node],
        "sshConfig": ssh,
        "hardening": {"enableCisK8sBenchmark": True},
    }
    created = (await api.ok(PROVISION, {"t": tenant.id, "in": data}, operator))["provisionCluster"]
    assert created["operation"]["provider"] == "ssh"
    assert [p["name"] for p in created["operation"]["phases"]][0] == "preflight"
    assert "hardening" in [p["name"] for p in created["operation"]["phases"]]
    assert "BEGIN" not in str(created["cluster"]["spec"]) and "privateKey" not in str(created["cluster"]["spec"])
    async with services.db.session() as session:
        stored = await session.get(Cluster, created["cluster"]["id"])
    assert stored is not None and stored.ssh_sealed and "PRIVATE KEY" not in stored.ssh_sealed
    secrets = json.loads(services.sealer.open(stored.ssh_sealed))
    assert secrets == {"privateKey": sshd.private_key}, "encrypted, and readable by the runner"
    failed = await finished(api, operator, created["operation"]["id"])
    # This machine is not the declared RHEL 9: the real preflight stops the plan before it changes anything.
    assert failed["status"] == "failed" and failed["error"].startswith("preflight:")
    assert any(f"Hostname: {socket.gethostname()}" in line["line"] for line in failed["logs"])
    assert any("check os failed" in line["line"] for line in failed["logs"]), failed["logs"]
    assert [p["status"] for p in failed["phases"]][:2] == ["failed", "pending"]
