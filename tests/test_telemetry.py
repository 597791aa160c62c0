"""What the service tells its operators, read as they would: JSON log lines, `/metrics` parsed
as Prometheus parses it, and traces received by an OTLP/HTTP collector of the test's own."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from app.db.session import Database
from app.seed import ensure_provider_admin
from app.settings import load_settings
from app.telemetry import configure_logging
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, make_tenant
from tests.support.clusters import register_cluster
from tests.support.databases import fresh_database
from tests.support.server import serving

ROOT = ("root@telemetry.test", "telemetry-admin-pass-1")
SECRET = "telemetry-test-secret-key-0123456789abcdef"


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    await fresh_database(url)
    db = Database(url)
    await ensure_provider_admin(db, *ROOT)
    await db.dispose()
    return url


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    try:
        yield stream
    finally:
        root.handlers, _ = kept[0], root.setLevel(kept[1])


@pytest.fixture(scope="module")
async def fleet() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=5) as kube:
        yield kube


def settings_for(database: str, **more: Any) -> Any:
    return load_settings(database_url=database, secret_key=SECRET, cluster_health_seconds=0, operation_workers=0,
                         **more)  # fmt: skip


async def test_one_json_access_line_per_request_names_the_caller_and_operation(
    database: str, log_lines: io.StringIO
) -> None:
    async with serving(create_app(settings_for(database))) as base, httpx.AsyncClient(base_url=base) as http:
        api = Api(http)
        token = (await api.login(*ROOT))["accessToken"]
        response = await http.post("/graphql", json={"query": "query Me { me { id } }", "operationName": "Me"},
                                   headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"})  # fmt: skip
        assert response.status_code == 200
        await http.post("/graphql", json={"query": "query Nope { nope }"})
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    mine = [line for line in requests if line.get("request_id") == "req-42"]
    assert len(mine) == 1, requests
    line = mine[0]
    assert line["operation"] == "Me" and line["outcome"] == "ok" and line["status"] == 200
    assert line["user"].startswith("usr_") and line["tenant"] is None  # the provider admin
    assert line["level"] == "info" and line["timestamp"].endswith("Z") and line["duration_ms"] >= 0
    assert any(r.get("operation") == "Nope" and r.get("outcome") == "BAD_USER_INPUT" for r in requests)
    assert all(ROOT[1] not in json.dumps(line) for line in lines)  # the login's password appears nowhere


async def test_metrics_are_prometheus_text_about_requests_clusters_and_queues(database: str, fleet: Fleet) -> None:
    async with serving(create_app(settings_for(database))) as base, httpx.AsyncClient(base_url=base) as http:
        api = Api(http)
        root = (await api.login(*ROOT))["accessToken"]
        tenant = await make_tenant(api, root, roles=("viewer",))
        cluster = await register_cluster(api, tenant, fleet, "measured")
        query = "query Pods($c:ID!){ cluster(id:$c){ summary { pods } } }"
        await api.ok(query, {"c": cluster}, tenant.tokens["viewer"])
        text = (await http.get("/metrics")).text  # no sign-in, no budget
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {f: [(s.labels, s.value) for s in families[f].samples] for f in families}
    assert ({"operation": "Pods", "outcome": "ok"}, 1.0) in samples["fleetgraph_graphql_operations"]
    upstream = dict((s[0]["verb"], s[1]) for s in samples["fleetgraph_upstream_requests"] if s[0]["cluster"] == cluster)
    assert upstream.get("list", 0) >= 1
    objects = {s[0]["kind"]: s[1] for s in samples["fleetgraph_cache_objects"] if s[0]["cluster"] == cluster}
    assert objects["pods"] > 0 or objects.get("Pod", 0) > 0 or any(v > 0 for v in objects.values())
    assert ({"cluster": cluster}, 0.0) in samples["fleetgraph_upstream_circuit_open"]
    assert {s[0]["status"] for s in samples["fleetgraph_operations"]} >= {"queued", "running", "failed"}
    assert any(s[0]["state"] == "checked_out" for s in samples["fleetgraph_db_pool_connections"])
    assert "fleetgraph_subscriptions_open" in families and "fleetgraph_http_requests" in families


async def test_a_metrics_token_guards_the_endpoint(database: str) -> None:
    app = create_app(settings_for(database, metrics_token="scrape-token-0123456789"))
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert ok.status_code == 200 and "fleetgraph_http_requests" in ok.text


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps every span it is sent."""

    spans: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                Collector.spans.extend(scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


async def test_traces_reach_the_collector_without_arguments(database: str, collector: str) -> None:
    app = create_app(settings_for(database, otel_endpoint=collector, otel_resolver_cost=2))
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        api = Api(http)
        token = (await api.login(*ROOT))["accessToken"]
        await api.ok("query Tenants { tenants(first:5) { nodes { id name } } }", token=token)
    names = [span.name for span in Collector.spans]  # flushed as the app stopped
    assert any(name.startswith("POST") for name in names), names  # the ASGI server span
    assert "graphql Tenants" in names
    assert "resolve Query.tenants" in names and "resolve Tenant.name" not in names  # only costly resolvers
    assert any(span.attributes and any(a.key == "db.statement" for a in span.attributes) for span in Collector.spans)
    everything = "".join(str(span) for span in Collector.spans)
    assert ROOT[1] not in everything  # the login's password is in no span
    assert "graphql.param" not in everything and "login(" not in everything  # no arguments, no query text
