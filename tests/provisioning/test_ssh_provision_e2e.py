"""Provisioning onto machines over SSH, end to end: the app's GraphQL API and runner, real sshd servers
standing in for five machines (tests/support/machines.py) whose kubeadm and package commands are
stand-ins, and a kubesim cluster as the API server the machines' kubeadm brings up.

The cluster is provisioned (the first attempt fails at a join and is retried), shows its nodes in
the fleet, scales its workers down and up again (the machine rejoins with a fresh token), refuses an
upgrade and is deprovisioned; none of the join secrets ever reaches a log, an error or the audit."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from sqlalchemy import select

from app.db.models import AuditLog, Operation, OperationLog
from app.provisioning.kubeadm import CA_CERT_HASH_VAR, CERTIFICATE_KEY_VAR, JOIN_TOKEN_VAR
from app.seed import ensure_provider_admin
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, make_tenant
from tests.support.lifecycle import DELETE, OPERATION, RETRY, SCALE, UPGRADE, VERSION, finished
from tests.support.machines import MachineSet, running_machines
from tests.support.server import serving
from tests.support.sshd import require_machines

EMAIL, PASSWORD = "root@machines.test", "provider-password-42"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
LAYOUT = [
    ("cp-1", "control-plane", "ubuntu22"),
    ("cp-2", "control-plane", "ubuntu22"),
    ("cp-3", "control-plane", "ubuntu22"),
    ("w-1", "worker", "ubuntu22"),
    ("w-2", "worker", "rocky9"),
]
ALL = sorted(name for name, _, _ in LAYOUT)
CLUSTER = """query($id:ID!){ cluster(id:$id){ id status lastError nodePools{ id name nodeCount }
  nodes{ totalCount nodes{ name ready } } } }"""
PROVISION = """mutation($t:ID!,$in:ProvisionClusterInput!){ provisionCluster(tenantId:$t,input:$in){
  cluster{ id status } operation{ id provider phases{ name } } } }"""
SECONDS = 240


@pytest_asyncio.fixture
async def kubesim() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile=None, tls=True) as fleet:
        yield fleet


@pytest.fixture
def machines(kubesim: Fleet, tmp_path: Path) -> Iterator[MachineSet]:
    sshd = require_machines()
    kubeconfig = kubesim.kubeconfigs["cluster-0"].read_text()
    with running_machines(sshd, tmp_path / "machines", kubeconfig, LAYOUT) as running:
        yield running


@pytest_asyncio.fixture
async def app(database_url: str) -> AsyncIterator[tuple[Api, Services]]:
    settings = load_settings(
        database_url=database_url,
        secret_key=SECRET,
        cluster_health_seconds=0,
        k8s_timeout_seconds=5,
        operation_workers=2,
        operation_poll_seconds=0.2,
        operation_lease_seconds=3.0,
    )
    services = Services.from_settings(settings)
    await ensure_provider_admin(services.db, EMAIL, PASSWORD)
    async with serving(create_app(settings, services)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Api(http), services
    await services.db.dispose()


def provision_input(machines: MachineSet) -> dict[str, Any]:
    return {
        "name": "metal",
        "topology": {"ha": True, "controlPlaneCount": 3, "workerCount": 2},
        "components": {"kubernetesVersion": VERSION, "cni": "calico", "ingress": "nginx"},
        "nodes": [machine.node_input() for machine in machines.machines.values()],
        "sshConfig": {"username": machines.username, "authMethod": "private_key", "privateKey": machines.private_key},
    }


def in_order(calls: list[list[str]], *expected: list[str]) -> bool:
    """Whether calls starting with each of `expected` were made, in this order (others in between)."""
    remaining = iter(calls)
    return all(any(call[: len(want)] == want for call in remaining) for want in expected)


def flag(call: list[str], name: str) -> str:
    return next(arg.split("=", 1)[1] for arg in call if arg.startswith(f"--{name}="))


async def node_names(api: Api, token: str, cluster_id: str, wanted: list[str]) -> list[str]:
    """The cluster's nodes through the fleet query, once they are `wanted` (the gateway's cache follows a watch)."""
    names: list[str] = []
    for _ in range(300):
        cluster = (await api.ok(CLUSTER, {"id": cluster_id}, token))["cluster"]
        names = sorted(node["name"] for node in cluster["nodes"]["nodes"] if node["ready"])
        if names == wanted:
            return names
        await asyncio.sleep(0.1)
    return names


async def succeeded(api: Api, token: str, operation_id: str) -> dict[str, Any]:
    operation = await finished(api, token, operation_id, seconds=SECONDS)
    assert operation["status"] == "success", (operation["error"], operation["logs"][-15:])
    return operation


async def test_provision_scale_and_deprovision_on_machines_over_ssh(
    app: tuple[Api, Services], machines: MachineSet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api, services = app
    provider = (await api.login(EMAIL, PASSWORD))["accessToken"]
    tenant = await make_tenant(api, provider, roles=("operator",))
    operator = tenant.tokens["operator"]

    cluster_id, provision, kept = await provision_with_one_retry(api, services, machines, tenant.id, operator)
    assert_the_plan_ran(machines, kept)
    assert (await api.code(UPGRADE, {"id": cluster_id, "v": "1.31.2"}, operator)) == "BAD_USER_INPUT"
    refused = await api.error(UPGRADE, {"id": cluster_id, "v": "1.31.2"}, operator)
    assert "not offered" in refused["message"], refused
    scales, fresh = await scale_down_and_up(api, services, machines, cluster_id, operator)

    gone = (await api.ok(DELETE, {"id": cluster_id, "d": True}, tenant.tokens["tenant_admin"]))["deleteCluster"]
    await succeeded(api, operator, gone["operation"]["id"])
    for machine in machines.machines.values():
        assert machine.calls("kubeadm")[-1] == ["kubeadm", "reset", "-f"], machine.name
    assert cluster_id not in services.gateway.clients()
    after = await api.ok("query($id:ID!){ cluster(id:$id){ status } }", {"id": cluster_id}, operator)
    assert after["cluster"]["status"] == "deleted"

    secrets = [*kept.values(), fresh, kubesim_token(machines)]
    operations = [provision, *scales, gone["operation"]["id"]]
    await assert_secrets_stay_secret(api, operator, services, operations, secrets, caplog)
    for machine in machines.machines.values():
        sshd_log = (machine.server.directory / "sshd.log").read_text()
        assert not any(secret in sshd_log for secret in secrets), machine.name


async def provision_with_one_retry(
    api: Api, services: Services, machines: MachineSet, tenant_id: str, token: str
) -> tuple[str, str, dict[str, str]]:
    """(cluster, operation, the join secrets it used) once the cluster is connected with all its nodes."""
    machines.fail_next_join("w-1")
    created = (await api.ok(PROVISION, {"t": tenant_id, "in": provision_input(machines)}, token))["provisionCluster"]
    cluster_id, operation = created["cluster"]["id"], created["operation"]
    assert operation["provider"] == "ssh" and operation["phases"][-1]["name"] == "register"
    failed = await finished(api, token, operation["id"], seconds=SECONDS)
    assert failed["error"] == "worker-join: w-1: step 1 of 1 exited with 1", failed["logs"][-15:]
    kept = await join_secrets(services, operation["id"])  # sealed in the operation, for the retry
    await api.ok(RETRY, {"id": operation["id"]}, token)
    await succeeded(api, token, operation["id"])
    assert await join_secrets(services, operation["id"]) == {}, "dropped once every node has joined"

    state = (await api.ok(CLUSTER, {"id": cluster_id}, token))["cluster"]
    assert state["status"] == "connected" and state["lastError"] is None
    assert await node_names(api, token, cluster_id, ALL) == ALL
    cluster = machines.cluster_state()
    assert kept[JOIN_TOKEN_VAR] == cluster["tokens"][0] and kept[CA_CERT_HASH_VAR] == cluster["caCertHash"]
    assert kept[CERTIFICATE_KEY_VAR] == cluster["certificateKey"]
    return cluster_id, operation["id"], kept


async def scale_down_and_up(
    api: Api, services: Services, machines: MachineSet, cluster_id: str, token: str
) -> tuple[list[str], str]:
    """The last worker leaves (reset, node deleted), then joins again with a fresh token: the two
    operations, and that token."""
    pools = (await api.ok(CLUSTER, {"id": cluster_id}, token))["cluster"]["nodePools"]
    workers = next(pool for pool in pools if pool["name"] == "workers")
    down = (await api.ok(SCALE, {"id": cluster_id, "p": [{"id": workers["id"], "nodeCount": 1}]}, token))
    await succeeded(api, token, down["scaleCluster"]["id"])
    assert await node_names(api, token, cluster_id, ALL[:-1]) == ALL[:-1]
    assert machines["w-2"].calls("kubeadm")[-1] == ["kubeadm", "reset", "-f"]

    up = (await api.ok(SCALE, {"id": cluster_id, "p": [{"id": workers["id"], "nodeCount": 2}]}, token))
    await succeeded(api, token, up["scaleCluster"]["id"])
    assert await join_secrets(services, up["scaleCluster"]["id"]) == {}
    assert await node_names(api, token, cluster_id, ALL) == ALL
    cluster = machines.cluster_state()
    first, fresh = cluster["tokens"]
    assert fresh != first
    assert machines["cp-1"].calls("kubeadm")[-1] == ["kubeadm", "token", "create", "--ttl=1h", "--print-join-command"]
    rejoin = machines["w-2"].calls("kubeadm")[-1]
    assert rejoin[:3] == ["kubeadm", "join", "127.0.10.1:6443"] and flag(rejoin, "token") == fresh
    assert flag(rejoin, "discovery-token-ca-cert-hash") == "sha256:" + cluster["caCertHash"]
    assert in_order(machines["w-2"].calls(), ["kubeadm", "reset"], ["dnf", "install", "-y", "containerd.io"],
                    ["kubeadm", "join"])
    pools = (await api.ok(CLUSTER, {"id": cluster_id}, token))["cluster"]["nodePools"]
    assert {pool["name"]: pool["nodeCount"] for pool in pools} == {"control-plane": 3, "workers": 2}
    return [down["scaleCluster"]["id"], up["scaleCluster"]["id"]], fresh


def assert_the_plan_ran(machines: MachineSet, kept: dict[str, str]) -> None:
    token, key, digest = kept[JOIN_TOKEN_VAR], kept[CERTIFICATE_KEY_VAR], kept[CA_CERT_HASH_VAR]
    first = machines["cp-1"].calls()
    assert in_order(
        first,
        ["apt-get", "update"],
        ["swapoff", "-a"],
        ["modprobe", "overlay"],
        ["modprobe", "br_netfilter"],
        ["sysctl", "--system"],
        ["apt-get", "install", "-y", "containerd"],
        ["containerd", "config", "default"],
        ["systemctl", "restart", "containerd"],
        ["curl", "-fsSL", "https://pkgs.k8s.io/core:/stable:/v1.30/deb/Release.key"],
        ["apt-get", "install", "-y", "--allow-change-held-packages", "kubelet=1.30.6-*", "kubeadm=1.30.6-*"],
        ["apt-mark", "hold", "kubelet", "kubeadm", "kubectl"],
        ["systemctl", "enable", "--now", "kubelet"],
        ["kubeadm", "init", f"--kubernetes-version=v{VERSION}"],
        ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "apply", "--server-side"],
        ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "apply", "-f"],
        ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "wait", "--for=condition=Ready", "nodes", "--all"],
        ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get", "nodes", "--no-headers"],
    ), first
    [init] = machines["cp-1"].calls("kubeadm")
    assert flag(init, "token") == token and flag(init, "certificate-key") == key and "--upload-certs" in init
    for name in ("cp-2", "cp-3"):
        [join] = machines[name].calls("kubeadm")
        assert "--control-plane" in join and flag(join, "certificate-key") == key, join
        assert flag(join, "token") == token and flag(join, "discovery-token-ca-cert-hash") == "sha256:" + digest
    first_join, second_join = machines["w-1"].calls("kubeadm")  # the first failed; the retry used the same
    assert first_join == second_join and flag(first_join, "token") == token and "--control-plane" not in first_join
    assert in_order(
        machines["w-2"].calls(),
        ["dnf", "install", "-y", "curl"],
        ["setenforce", "0"],
        ["dnf", "install", "-y", "containerd.io"],
        ["dnf", "install", "-y", "kubelet-1.30.6"],
        ["kubeadm", "join", "127.0.10.1:6443"],
    )
    assert not machines["w-1"].calls("dnf") and not machines["w-2"].calls("apt-get")


def kubesim_token(machines: MachineSet) -> str:
    """The credential of the admin kubeconfig the first control plane holds."""
    config = yaml.safe_load((machines.shared / "kubeconfig").read_text())
    return str(config["users"][0]["user"]["token"])


async def join_secrets(services: Services, operation_id: str) -> dict[str, str]:
    """The join secrets the operation keeps (sealed) in its state."""
    async with services.db.session() as session:
        operation = await session.get(Operation, operation_id)
    assert operation is not None
    sealed = operation.state.get("joinSecrets")
    if sealed is None:
        return {}
    kept = dict(json.loads(services.sealer.open(sealed)))
    assert not any(value in str(operation.state) for value in kept.values()), "sealed, not stored in the clear"
    return kept


async def assert_secrets_stay_secret(
    api: Api,
    token: str,
    services: Services,
    operations: list[str],
    secrets: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert all(len(secret) >= 20 for secret in secrets)
    async with services.db.session() as session:
        lines = (await session.execute(select(OperationLog.line).where(OperationLog.operation_id.in_(operations))))
        logged = "\n".join(lines.scalars())
        rows = (await session.execute(select(Operation).where(Operation.id.in_(operations)))).scalars()
        errors = "\n".join(f"{row.error} {row.phases} {row.params}" for row in rows)
        audits = (await session.execute(select(AuditLog))).scalars()
        audited = "\n".join(f"{row.action} {row.changes} {row.target_id}" for row in audits)
    assert "[redacted]" in logged, "kubeadm init printed the join command; the log has it masked"
    shown = [await api.ok(OPERATION, {"id": operation_id}, token) for operation_id in operations]
    process_log = caplog.text + "\n".join(str(record.args) for record in caplog.records)
    for secret in secrets:
        for where, text in (("operation logs", logged), ("operations", errors), ("audit", audited),
                            ("GraphQL", str(shown)), ("process log", process_log)):
            assert secret not in text, f"a secret is in the {where}"
