"""`X-Trace-ID` on every HTTP response, over real HTTP: an incoming W3C `traceparent`'s trace ID
when valid, the request's server span's when tracing is on, else a fresh one."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.settings import load_settings
from app.web import create_app
from tests.support.databases import fresh_database
from tests.support.server import serving

SECRET = "trace-header-test-secret-key-0123456789"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
GIVEN = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{GIVEN}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
async def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('trace') / 't.db'}"
    await fresh_database(url)
    return url


def settings_for(database: str, **more: Any) -> Any:
    return load_settings(database_url=database, secret_key=SECRET, cluster_health_seconds=0, operation_workers=0,
                         max_body_bytes=1024, **more)  # fmt: skip


@pytest.fixture(scope="module")
async def http(database: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings_for(database))) as base, httpx.AsyncClient(base_url=base) as client:
        yield client


async def test_every_response_carries_a_fresh_trace_id_beside_the_request_id(http: httpx.AsyncClient) -> None:
    responses = [
        await http.get("/health"),
        await http.post("/graphql", json={"query": "{ __typename }"}),
        await http.post("/graphql", json={"query": "{ nope }"}),  # a GraphQL error
        await http.get("/no/such/path"),  # Starlette's 404
        await http.post("/graphql", content=b"x" * 2048, headers={"Content-Type": "application/json"}),  # 413
    ]
    assert [r.status_code for r in responses][3:] == [404, 413]
    trace_ids = [r.headers.get("x-trace-id", "") for r in responses]
    assert all(HEX32.match(trace_id) for trace_id in trace_ids), trace_ids
    assert len(set(trace_ids)) == len(trace_ids)  # one trace per request
    assert all(r.headers.get("x-request-id") for r in responses)
    assert set(trace_ids).isdisjoint({"0" * 32})


async def test_a_valid_traceparent_names_the_trace(http: httpx.AsyncClient) -> None:
    response = await http.get("/health", headers={"traceparent": TRACEPARENT, "X-Request-ID": "req-7"})
    assert response.headers["x-trace-id"] == GIVEN
    assert response.headers["x-request-id"] == "req-7"
    later_version = await http.get("/health", headers={"traceparent": f"01-{GIVEN}-00f067aa0ba902b7-01-more"})
    assert later_version.headers["x-trace-id"] == GIVEN  # a later version's extra fields are allowed


@pytest.mark.parametrize(
    "traceparent",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # an all-zero trace ID
        f"00-{GIVEN}-0000000000000000-01",  # an all-zero parent ID
        f"ff-{GIVEN}-00f067aa0ba902b7-01",  # the forbidden version
        f"00-{GIVEN.upper()}-00F067AA0BA902B7-01",  # upper-case hex
        f"00-{GIVEN}-00f067aa0ba902b7-01-extra",  # version 00 has exactly four fields
        f"00-{GIVEN[:-1]}-00f067aa0ba902b7-01",  # a short trace ID
        "not a traceparent",
    ],
)
async def test_an_invalid_traceparent_is_not_trusted(http: httpx.AsyncClient, traceparent: str) -> None:
    trace_id = (await http.get("/health", headers={"traceparent": traceparent})).headers["x-trace-id"]
    assert HEX32.match(trace_id) and trace_id != GIVEN and trace_id != "0" * 32


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps the trace ID of every server span it is sent."""

    server_traces: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                Collector.server_traces += [s.trace_id.hex() for s in scope.spans if s.kind == s.SPAN_KIND_SERVER]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.server_traces = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


async def test_with_tracing_on_the_header_names_the_server_spans_trace(database: str, collector: str) -> None:
    app = create_app(settings_for(database, otel_endpoint=collector))
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        fresh = (await http.get("/health")).headers["x-trace-id"]
        continued = (await http.get("/health", headers={"traceparent": TRACEPARENT})).headers["x-trace-id"]
    assert continued == GIVEN
    assert HEX32.match(fresh) and fresh != GIVEN
    assert fresh in Collector.server_traces  # flushed as the app stopped: the span the header names
    assert GIVEN in Collector.server_traces  # the incoming trace, continued by the server span
