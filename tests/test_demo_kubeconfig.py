"""A kubeconfig downloaded from `fleetgraph demo` works with the real kubectl: the clusters speak TLS."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.errors import UpstreamUnavailable
from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import parse_kubeconfig
from kubesim.kubeconfig import make_certificates
from tests.kubesim.kubectl import KUBECTL, Kubectl
from tests.support.server import free_port
from tests.test_demo import _wait_for

CLUSTERS = "query($t:ID!){ clusters(tenantId:$t){ nodes { id name } } }"
KUBECONFIG = "query($c:ID!){ kubeconfig(clusterId:$c) }"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running `fleetgraph demo`; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(port), "--data-dir", str(tmp_path_factory.mktemp("demo"))],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/health", process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def _graphql(base: str, query: str, variables: dict[str, str], token: str) -> Any:
    body = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def downloaded(demo: str) -> str:
    """The Acme admin's kubeconfig of prod-eu, fetched over GraphQL."""
    login = ('mutation { login(email:"admin@acme.example", password:"fleetgraph-demo-1") '
             "{ accessToken user { tenantId } } }")
    session = httpx.post(f"{demo}/graphql", json={"query": login}, timeout=30).json()["data"]["login"]
    token = session["accessToken"]
    clusters = _graphql(demo, CLUSTERS, {"t": session["user"]["tenantId"]}, token)["clusters"]
    cluster = next(c for c in clusters["nodes"] if c["name"] == "prod-eu")
    return str(_graphql(demo, KUBECONFIG, {"c": cluster["id"]}, token)["kubeconfig"])


def test_the_kubeconfig_names_an_https_server_and_carries_its_ca(downloaded: str) -> None:
    config = yaml.safe_load(downloaded)
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://127.0.0.1:")
    assert b"-----BEGIN CERTIFICATE-----" in base64.b64decode(cluster["certificate-authority-data"])
    assert "insecure-skip-tls-verify" not in cluster
    assert config["users"][0]["user"]["token"]


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_lists_the_pods_with_the_downloaded_kubeconfig(downloaded: str, tmp_path: Path) -> None:
    path = tmp_path / "prod-eu.kubeconfig"
    path.write_text(downloaded)
    path.chmod(0o600)
    lines = Kubectl(path, tmp_path / "cache").out("get", "pods", "-A").splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]
    rows = [line.split() for line in lines[1:]]
    assert rows and any(row[3] == "Running" for row in rows)
    assert {"kube-system"} < {row[0] for row in rows}


async def test_fleetgraph_verifies_the_cluster_against_the_kubeconfig_ca(downloaded: str, tmp_path: Path) -> None:
    connection = parse_kubeconfig(downloaded).connection(None)
    async with ClusterClient("prod-eu", connection, timeout=10, retries=0) as trusted:
        assert (await trusted.version())["gitVersion"]
    # The same server, token and address with another CA: only the certificate check can refuse it.
    connection.ca_data = make_certificates(tmp_path / "other").ca_pem.decode()
    async with ClusterClient("prod-eu", connection, timeout=10, retries=0) as untrusted:
        with pytest.raises(UpstreamUnavailable):
            await untrusted.version()
