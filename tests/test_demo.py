"""`fleetgraph demo` end to end: a real process, its printed credentials, its simulated clusters."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.server import free_port


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {seconds}s")


def test_demo_serves_tenants_and_their_simulated_clusters(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "FLEETGRAPH_ADMIN_PASSWORD": "demo-admin-pass-1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/health", process)
        assert httpx.get(f"{base}/health").json()["status"] == "healthy"
        login = (
            'mutation { login(email:"viewer@acme.example", password:"fleetgraph-demo-1") '
            "{ accessToken user { tenantId } } }"
        )
        data = httpx.post(f"{base}/graphql", json={"query": login}, timeout=30).json()["data"]["login"]
        query = "query($t:ID!){ clusters(tenantId:$t){ nodes { name provider summary { nodes runningPods } } } }"
        body = httpx.post(
            f"{base}/graphql",
            json={"query": query, "variables": {"t": data["user"]["tenantId"]}},
            headers={"Authorization": f"Bearer {data['accessToken']}"},
            timeout=30,
        ).json()
        clusters = body["data"]["clusters"]["nodes"]
        assert sorted(c["name"] for c in clusters) == ["prod-eu", "staging"]
        assert all(c["provider"] == "kubesim" and c["summary"]["runningPods"] > 0 for c in clusters)
        admin = 'mutation { login(email:"admin@fleetgraph.local", password:"demo-admin-pass-1") { user { role } } }'
        assert (
            httpx.post(f"{base}/graphql", json={"query": admin}).json()["data"]["login"]["user"]["role"]
            == "super_admin"
        )
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert re.search(r"admin@acme\.example / fleetgraph-demo-1", output)
    assert f"http://127.0.0.1:{port}/graphql" in output
    for name in ("secret_key", "fleetgraph.db"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_a_busy_port_stops_the_demo_before_it_prints_or_writes_anything(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
        done = subprocess.run(
            [sys.executable, "-m", "app", "demo", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "demo is running" not in done.stdout and "Provider admin" not in done.stdout
    assert not (tmp_path / "data").exists()


def test_a_stop_is_clean_even_with_a_stream_open(tmp_path: Path) -> None:
    """SIGINT with a subscription open: the stream is closed with 1012 (service restart), the
    watches end before the clusters do, and the process exits 0 printing no traceback or warning."""
    import asyncio
    import json

    import websockets

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    async def stream_until_stopped() -> int:
        login = 'mutation { login(email:"admin@acme.example", password:"fleetgraph-demo-1") { accessToken } }'
        async with httpx.AsyncClient(timeout=30) as http:
            answer = (await http.post(f"{base}/graphql", json={"query": login})).json()
        token = answer["data"]["login"]["accessToken"]
        async with websockets.connect(base.replace("http", "ws") + "/graphql",
                                      subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]  # fmt: skip
            await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            query = 'subscription { resourceEvents(kind:"Pod", includeInitial:true) { type name } }'
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            assert json.loads(await asyncio.wait_for(socket.recv(), timeout=30))["type"] == "next"
            process.send_signal(signal.SIGINT)
            try:
                while True:
                    await asyncio.wait_for(socket.recv(), timeout=30)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1

    try:
        _wait_for(f"{base}/health", process)
        code = asyncio.run(stream_until_stopped())
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 1012
    assert process.returncode == 0, output
    printed = [line for line in output.splitlines() if "fleetgraph.access" not in line]
    assert not [line for line in printed if "Traceback" in line or "[warning" in line or "[error" in line], output
