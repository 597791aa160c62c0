"""Operations survive their process: `fleetgraph serve` killed (-9) mid-provision and started again
finishes the work without running a finished phase twice; two replicas never run one operation twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_postgres
from tests.support.databases import scratch_postgres
from tests.support.lifecycle import cks_input
from tests.support.processes import create_admin, gql, healthy, kubesim_ready, processes, spawn
from tests.support.server import free_port

SECRET = "operations-crash-secret-key-0123456789abcdef"
ADMIN = ("root@operations.test", "operations-admin-pass-1")
CREATE = """mutation($t:ID!,$in:CreateClusterInput!){ createCluster(tenantId:$t,input:$in){
  cluster{ id } operation{ id } } }"""
OPERATION = """query($id:ID!){ operation(id:$id){ status attempts error phases{ name status }
  logs(limit:5000){ phase line } } }"""
AUDIT = """query($t:ID!){ auditLogs(filter:{tenantId:$t, action:"operation.started"}, pageSize:100){
  nodes{ targetId } } }"""


@contextlib.asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fleetgraph.db'}"
    else:
        async with scratch_postgres(require_postgres()) as url:
            yield url


def environment(database_url: str, control: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")},
        "FLEETGRAPH_DATABASE_URL": database_url,
        "FLEETGRAPH_SECRET_KEY": SECRET,
        "FLEETGRAPH_CLUSTER_HEALTH_SECONDS": "0",
        "FLEETGRAPH_SIMULATOR_URL": control,
        "FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS": "127.0.0.0/8",  # kubesim listens on loopback
        "FLEETGRAPH_SIMULATED_PHASE_SECONDS": "0.8",
        "FLEETGRAPH_OPERATION_LEASE_SECONDS": "2",
        "FLEETGRAPH_OPERATION_POLL_SECONDS": "0.3",
    }


async def sign_in_and_tenant(url: str) -> tuple[str, str]:
    login = "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }"
    token = (await gql(url, login, {"e": ADMIN[0], "p": ADMIN[1]}))["login"]["accessToken"]
    tenant = await gql(
        url, 'mutation { createTenant(input:{name:"Crash Co", adminEmail:"a@crash.test"}){ tenant { id } } }', {}, token
    )
    return token, tenant["createTenant"]["tenant"]["id"]


async def operation(url: str, token: str, operation_id: str) -> dict[str, Any]:
    return dict((await gql(url, OPERATION, {"id": operation_id}, token))["operation"])


async def until(url: str, token: str, operation_id: str, done: Any, seconds: float = 90) -> dict[str, Any]:
    for _ in range(int(seconds * 5)):
        found = await operation(url, token, operation_id)
        if done(found):
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"operation {operation_id} never reached the expected state")


def phase_lines(found: dict[str, Any], suffix: str) -> list[str]:
    return [line["phase"] for line in found["logs"] if line["line"].endswith(suffix)]


def start_kubesim(started: list[Any], env: dict[str, str], directory: Path) -> str:
    args = ("--clusters", "0", "--port", "0", "--control", "--kubeconfig-out", str(directory / "kubeconfigs"))
    control, _ = kubesim_ready(spawn(started, env, "kubesim", *args))
    return control


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_killed_mid_provision_and_restarted_the_operation_completes(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as database_url:
        with processes() as started:
            control = start_kubesim(started, dict(os.environ), tmp_path)
            env = environment(database_url, control)
            migrate = spawn(started, env, "app", "migrate")
            assert migrate.wait(timeout=120) == 0
            await create_admin(env, *ADMIN)
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = spawn(started, env, "app", "serve", "--port", str(port), "--no-migrate")
            await healthy(url)
            token, tenant_id = await sign_in_and_tenant(url)
            created = await gql(url, CREATE, {"t": tenant_id, "in": cks_input("crash-one")}, token)
            operation_id = created["createCluster"]["operation"]["id"]
            await until(url, token, operation_id, lambda o: "join-nodes" in phase_lines(o, ": started"))

            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            spawn(started, env, "app", "serve", "--port", str(port), "--no-migrate")
            await healthy(url)
            found = await until(url, token, operation_id, lambda o: o["status"] in ("success", "failed"))

            assert found["status"] == "success", found["error"]
            assert all(p["status"] == "success" for p in found["phases"])
            done = phase_lines(found, ": done")
            assert sorted(done) == sorted(p["name"] for p in found["phases"]), "every phase finished exactly once"
            assert phase_lines(found, ": started").count("join-nodes") == 2, "the interrupted phase ran again"
            assert phase_lines(found, ": started").count("validate") == 1, "finished phases were kept"
            assert any("resumed by" in line["line"] for line in found["logs"]) and found["attempts"] == 2


@pytest.mark.postgres
async def test_two_replicas_run_each_operation_exactly_once(tmp_path: Path) -> None:
    async with database("postgres", tmp_path) as database_url:
        with processes() as started:
            control = start_kubesim(started, dict(os.environ), tmp_path)
            env = environment(database_url, control) | {"FLEETGRAPH_SIMULATED_PHASE_SECONDS": "0.2"}
            assert spawn(started, env, "app", "migrate").wait(timeout=120) == 0
            await create_admin(env, *ADMIN)
            urls = []
            for _ in range(2):
                port = free_port()
                spawn(started, env, "app", "serve", "--port", str(port), "--no-migrate")
                urls.append(f"http://127.0.0.1:{port}")
            for url in urls:
                await healthy(url)
            token, tenant_id = await sign_in_and_tenant(urls[0])
            ids = []
            for index in range(4):
                data = cks_input(f"replicated-{index}")
                created = await gql(urls[index % 2], CREATE, {"t": tenant_id, "in": data}, token)
                ids.append(created["createCluster"]["operation"]["id"])
            for operation_id in ids:
                found = await until(urls[0], token, operation_id, lambda o: o["status"] in ("success", "failed"))
                assert found["status"] == "success", found["error"]
                assert found["attempts"] == 1, found
                assert sorted(phase_lines(found, ": started")) == sorted(p["name"] for p in found["phases"])
            starts = (await gql(urls[1], AUDIT, {"t": tenant_id}, token))["auditLogs"]["nodes"]
            assert sorted(entry["targetId"] for entry in starts) == sorted(ids), "each operation started once"
