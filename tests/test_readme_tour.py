"""The README's quick tour, run as written against a real `fleetgraph demo` process: its GraphQL
blocks in order, over HTTP and (for the subscription) a WebSocket with the token in connection_init."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.server import free_port
from tests.test_demo import _wait_for

README = Path(__file__).resolve().parent.parent / "README.md"


def tour_blocks() -> dict[str, str]:
    """The tour's GraphQL blocks by operation name, in the README's order."""
    text = README.read_text()
    tour = text.split("## Quick tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```graphql\n(.*?)```", tour, re.S)
    named = {re.search(r"(?:query|mutation|subscription) (\w+)", b).group(1): b for b in blocks}  # type: ignore[union-attr]
    assert list(named) == ["SignIn", "Fleet", "BadUser", "Deployments", "Token"], list(named)
    return named


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    data = tmp_path_factory.mktemp("tour")
    process = subprocess.Popen([sys.executable, "-m", "app", "demo", "--port", str(port), "--data-dir", str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/health", process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def run(base: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers, timeout=30)  # fmt: skip
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_quick_tour_works_as_written(demo: str) -> None:
    blocks = tour_blocks()
    signed_in = run(demo, blocks["SignIn"])["data"]["login"]
    token, tenant = signed_in["accessToken"], signed_in["user"]["tenantId"]
    auth = {"Authorization": f"Bearer {token}"}
    me = run(demo, "{ me { email role tenantId } }", **auth)["data"]["me"]  # the README's curl line
    assert me == {"email": "admin@acme.example", "role": "tenant_admin", "tenantId": tenant}

    fleet = run(demo, blocks["Fleet"], {"tenantId": tenant}, **auth)
    assert not fleet.get("errors"), fleet
    clusters = fleet["data"]["clusters"]["nodes"]
    assert sorted(c["name"] for c in clusters) == ["prod-eu", "staging"]
    assert fleet["data"]["workloads"]["items"] and fleet["data"]["workloads"]["errors"] == []

    bad = run(demo, blocks["BadUser"], {"tenantId": tenant}, **auth)["errors"][0]
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    fields = {detail["field"] for detail in bad["extensions"]["details"]}
    assert any("email" in f for f in fields) and any("name" in f for f in fields), fields

    first = asyncio.run(first_event(demo, token, blocks["Deployments"], clusters[0]["id"]))
    assert first["type"] == "ADDED" and first["name"]

    created = run(demo, blocks["Token"], **auth)["data"]["createApiToken"]
    by_key = run(demo, "{ me { email } }", **{"X-API-Key": created["value"]})
    assert by_key["data"]["me"]["email"] == "admin@acme.example"


async def first_event(base: str, token: str, query: str, cluster_id: str) -> dict[str, Any]:
    url = base.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": {"clusterId": cluster_id}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
        assert message["type"] == "next", message
        return dict(message["payload"]["data"]["resourceEvents"])


def test_the_cli_says_its_version_and_every_option_has_help() -> None:
    version = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and re.fullmatch(r"fleetgraph \d+\.\d+\.\d+\n", version.stdout)
    from app.cli import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    for name, sub in commands.choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"fleetgraph {name} {action.option_strings} has no help text"
