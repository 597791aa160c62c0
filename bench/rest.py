"""A REST list against the GraphQL query it runs, and what the REST rate limiter costs.

The REST path is CKS's `GET /api/tenants/{tenantId}/clusters?page=1&pageSize=20` for a tenant
with 20 clusters, registered through `registerCluster` against a kubesim fleet (its own process,
`--profile empty`). The GraphQL request is a POST /graphql with the very operation text the row
runs (read from its `.graphql` document) and the variables the REST layer gives it. Before the
load, 20 lists must cost kubesim no request (the row reads stored fields only) and both APIs must
list the same 20 clusters. Two Fleetgraph servers run in their own uvicorn processes on one
SQLite file: `open` (FLEETGRAPH_REST_RATE_LIMITS=false) answers GraphQL and REST, `limited`
(true, counters in memory) the same REST path under the documented limits.

The limiter counts per client IP (CKS: 300 per minute) and its tiers are not settings, so every
load connection speaks from its own loopback address (127.0.0.2, 127.0.0.3, ...) and moves to a
fresh one after `--per-address` requests: the limited server counts every request against the
real policy and refuses none, and all three kinds connect alike. `hit()` is also timed in
process over many calls, which resolves what the servers' noise hides.

A keep-alive load at fixed concurrency, a warm-up, then interleaved rounds (each kind in each
position in turn); medians are reported. It prints one line and a JSON summary and exits 0 when
REST (limiter off) reaches `--target` x GraphQL requests/s, 1 when not, 2 on errors.

    .venv/bin/python bench/rest.py [--requests N] [--duration S] [--concurrency C] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.graphql_overhead import (  # noqa: E402
    RunResult,
    RunState,
    Server,
    _die_with_parent,
    cpu_seconds,
    free_port,
    post_json,
    read_response,
    server_env,
    stop_servers,
    wait_ready,
)

TARGET = 0.8
KINDS = ("graphql", "rest", "rest_limited")
SERVER_OF = {"graphql": "open", "rest": "open", "rest_limited": "limited"}
PATH = "/api/tenants/{tenantId}/clusters"
PAGE = {"page": "1", "pageSize": "20"}
CLUSTERS = 20
EMAIL = "admin@bench.example"
PASSWORD = "bench-password-123456"
NO_BUDGET = str(10**15)  # cost points: one user's load must not spend the per-minute query budget


# --------------------------------------------------------------------------- the row


@dataclass(frozen=True)
class Scenario:
    """The row's request as REST receives it, and as GraphQL: its operation and variables."""

    url_path: str
    items: str  # the list's name in the CKS envelope
    operation: str  # the GraphQL text the row runs
    operation_name: str
    selects: str  # the field the row picks
    variables: dict[str, Any]


def scenario_for(tenant_id: str) -> Scenario:
    """The variables are what the REST executor passes for this path and query: the paging, then the row's own."""
    from app.rest.cks import ROWS, TABLE
    from app.rest.documents import Documents
    from app.rest.inputs import query_model
    from app.rest.rows import Call

    row = next((row for row in ROWS if row.key == ("GET", PATH)), None)
    if row is None or row.listing is None:
        raise RuntimeError(f"the CKS table has no list row for GET {PATH}")
    operation = Documents(TABLE.folder).operation(row.document, row.operations[0])
    model = query_model(row, TABLE.dialect)
    query = model.model_validate(PAGE) if model is not None else None
    variables = row.variables_for(Call("GET", {"tenantId": tenant_id}, query, None, {}), {})
    if isinstance(query, TABLE.dialect.paging):
        variables = {**query.variables(), **variables}
    url_path = PATH.format(tenantId=tenant_id) + "?" + "&".join(f"{k}={v}" for k, v in PAGE.items())
    return Scenario(url_path, row.listing.items, operation.text, operation.name, row.pick, variables)


# --------------------------------------------------------------------------- servers and data


def serve(port: int) -> int:
    """Runs in a server process; its settings come from the FLEETGRAPH_* variables the parent set."""
    import uvicorn

    from app.settings import Settings
    from app.web import create_app

    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
    return 0


def start_server(name: str, env: dict[str, str]) -> Server:
    import subprocess

    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port)]
    preexec = _die_with_parent if sys.platform == "linux" else None
    return Server(name, port, subprocess.Popen(command, env=env, cwd=ROOT, preexec_fn=preexec))


def environments(url: str) -> dict[str, dict[str, str]]:
    """One secret key for both servers (a token signed by one is valid on the other)."""
    base = server_env(url)
    base.update(
        FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS="127.0.0.0/8",  # kubesim listens on loopback
        FLEETGRAPH_CLUSTER_HEALTH_SECONDS="0",  # no background probes: upstream calls are the list's own
        FLEETGRAPH_PRINCIPAL_COST_BUDGET=NO_BUDGET,
        FLEETGRAPH_TENANT_COST_BUDGET=NO_BUDGET,
    )
    return {
        "open": {**base, "FLEETGRAPH_REST_RATE_LIMITS": "false"},
        "limited": {**base, "FLEETGRAPH_REST_RATE_LIMITS": "true", "FLEETGRAPH_RATE_LIMIT_URL": "memory://"},
    }


async def prepare_database(url: str) -> str:
    """Migrate a fresh SQLite file and add one tenant (room for the clusters) and its admin; the tenant's ID."""
    from app.auth.passwords import hash_password
    from app.db.migrate import upgrade
    from app.db.models import Tenant, User
    from app.db.session import Database, make_engine
    from app.ids import new_id

    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    db = Database(url)
    try:
        tenant = Tenant(id=new_id("tenant"), name="Bench Fleet", slug="bench", admin_email=EMAIL, max_clusters=CLUSTERS)
        async with db.transaction() as session:
            session.add(tenant)
            await session.flush()
            session.add(User(id=new_id("user"), tenant_id=tenant.id, email=EMAIL, name="Bench Admin",
                             role="tenant_admin", password_hash=await hash_password(PASSWORD)))  # fmt: skip
        return tenant.id
    finally:
        await db.dispose()


def graphql(url: str, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    body = post_json(url + "/graphql", {"query": query, "variables": variables}, token)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL failed: {str(body['errors'])[:1000]}")
    return body["data"]  # type: ignore[no-any-return]


def login(url: str, email: str) -> str:
    mutation = "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }"
    return str(graphql(url, mutation, {"e": email, "p": PASSWORD})["login"]["accessToken"])


REGISTER = "mutation($t: ID!, $in: RegisterClusterInput!) { registerCluster(tenantId: $t, input: $in) { id } }"


def register_clusters(url: str, token: str, tenant_id: str, kubeconfigs: dict[str, Path]) -> None:
    for name, path in sorted(kubeconfigs.items()):
        graphql(url, REGISTER, {"t": tenant_id, "in": {"name": name, "kubeconfig": path.read_text()}}, token)


# --------------------------------------------------------------------------- load generator


class Addresses:
    """Loopback source addresses 127.0.0.2, 127.0.0.3, ..., never reused: the limiter counts per
    IP, so each address carries fewer requests than one window's budget."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._next = 2

    def take(self) -> str:
        while self._next % 256 in (0, 255):
            self._next += 1
        n, self._next = self._next, self._next + 1
        return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def request_bytes(kind: str, port: int, token: str, scenario: Scenario) -> bytes:
    head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nUser-Agent: fleetgraph-bench\r\n"
    if kind != "graphql":
        return f"GET {scenario.url_path} HTTP/1.1\r\n{head}\r\n".encode()
    body = json.dumps({"query": scenario.operation, "variables": scenario.variables}).encode()
    lines = f"POST /graphql HTTP/1.1\r\n{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return lines.encode() + body


def response_ok(kind: str, status: int, body: bytes) -> bool:
    if status != 200:
        return False
    return b'"errors"' not in body if kind == "graphql" else body.startswith(b'{"success":true')


async def connection_loop(kind: str, port: int, payload: bytes, state: RunState, addresses: Addresses) -> None:
    while True:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(addresses.take(), 0))
        try:
            for _ in range(addresses.per_address):
                if not state.take():
                    return
                started = time.perf_counter()
                writer.write(payload)
                status, body = await read_response(reader)
                state.last_done = time.perf_counter()
                state.latencies.append(state.last_done - started)
                if not response_ok(kind, status, body):
                    state.failures += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def run_load(kind: str, port: int, payload: bytes, args: argparse.Namespace, addresses: Addresses,
                   requests: int) -> RunResult:  # fmt: skip
    started = time.perf_counter()
    state = RunState(remaining=requests, deadline=started + args.duration)
    loops = (connection_loop(kind, port, payload, state, addresses) for _ in range(args.concurrency))
    await asyncio.wait_for(asyncio.gather(*loops), timeout=args.duration + 30)
    latencies = sorted(state.latencies) or [0.0]
    return RunResult(
        kind=kind,
        requests=len(state.latencies),
        seconds=state.last_done - started,
        failures=state.failures,
        p50_ms=round(1000 * latencies[len(latencies) // 2], 2),
        p99_ms=round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
    )


# --------------------------------------------------------------------------- checks


def fetch(server: Server, kind: str, token: str, scenario: Scenario, source: str) -> tuple[int, dict[str, str], Any]:
    """One request from `source`, on a connection of its own: status, headers, JSON body."""

    async def once() -> tuple[int, dict[str, str], Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, local_addr=(source, 0))
        try:
            writer.write(request_bytes(kind, server.port, token, scenario))
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            body = await reader.readexactly(int(headers["content-length"]))
            return int(lines[0].split(" ", 2)[1]), headers, json.loads(body)
        finally:
            writer.close()

    return asyncio.run(once())


def check_answers(servers: dict[str, Server], token: str, scenario: Scenario) -> dict[str, Any]:
    """GraphQL and REST list the same 20 items, and the limited server counts each address apart."""
    _, _, graphql_body = fetch(servers["open"], "graphql", token, scenario, "127.0.0.1")
    connection = graphql_body.get("data", {}).get(scenario.selects) or {}
    expected = [node["id"] for node in connection.get("nodes") or []]
    for kind, name in (("rest", "open"), ("rest_limited", "limited")):
        status, _, body = fetch(servers[name], kind, token, scenario, "127.0.0.1")
        items = [item["id"] for item in (body.get("data") or {}).get(scenario.items) or []]
        if status != 200 or items != expected or len(items) != CLUSTERS:
            raise RuntimeError(f"{kind} disagrees ({status}): {len(items)} items, GraphQL {len(expected)}")
    remaining = [fetch(servers["limited"], "rest", token, scenario, "127.0.0.1")[1] for _ in range(2)]
    fresh = fetch(servers["limited"], "rest", token, scenario, "127.1.255.254")[1]
    left = [int(h.get("x-ratelimit-remaining", -1)) for h in (*remaining, fresh)]
    if not (left[0] - 1 == left[1] and left[2] > left[1]):
        raise RuntimeError(f"the limiter does not count per source address: remaining {left}")
    return {"items": len(expected), "limit": int(fresh["x-ratelimit-limit"]), "remaining_seen": left}


def upstream_calls(servers: dict[str, Server], token: str, scenario: Scenario, kubesim: Any) -> int:
    """kubesim requests made by 10 GraphQL and 10 REST lists (the health probe is off): none, or
    the row reads more than stored fields and this would measure kubesim."""
    import httpx

    names = sorted(kubesim.servers)
    with httpx.Client(timeout=30) as http:
        for name in names:
            http.post(f"{kubesim.control}/clusters/{name}/reset").raise_for_status()
        for kind in ("graphql", "rest"):
            for _ in range(10):
                fetch(servers["open"], kind, token, scenario, "127.0.0.1")
        calls = sum(int(http.get(f"{kubesim.control}/clusters/{name}/stats").json()["requests"]) for name in names)
    if calls:
        raise RuntimeError(f"20 lists made {calls} Kubernetes calls: the row reads more than stored fields")
    return calls


# --------------------------------------------------------------------------- the limiter in process


async def limiter_hit_us(calls: int, per_address: int, path: str) -> float:
    """Microseconds per `RestRateLimiter.hit()` (memory storage, CKS's policy), clients rotated
    as the load rotates its addresses, so every call is counted and allowed."""
    from app.rest.rate_limits import RestRateLimiter

    limiter = RestRateLimiter("memory://")
    addresses = Addresses(per_address)
    try:
        client = addresses.take()
        started = time.perf_counter()
        for i in range(calls):
            if i and i % per_address == 0:
                client = addresses.take()
            verdict = await limiter.hit("cks", "GET", path, client)
            if not verdict.allowed:
                raise RuntimeError(f"the limiter refused call {i} of {client}")
        return 1e6 * (time.perf_counter() - started) / calls
    finally:
        await limiter.close()


# --------------------------------------------------------------------------- the benchmark


def round_order(index: int) -> tuple[str, ...]:
    """Each kind takes each position in turn, so drift on the shared machine hits all alike."""
    shift = index % len(KINDS)
    return KINDS[shift:] + KINDS[:shift]


def measure(args: argparse.Namespace, servers: dict[str, Server], token: str, scenario: Scenario) -> list[RunResult]:
    addresses = Addresses(args.per_address)

    def run(kind: str, requests: int) -> RunResult:
        server = servers[SERVER_OF[kind]]
        payload = request_bytes(kind, server.port, token, scenario)
        before = cpu_seconds(server.process.pid)
        result = asyncio.run(run_load(kind, server.port, payload, args, addresses, requests))
        after = cpu_seconds(server.process.pid)
        if before is not None and after is not None and result.requests:
            result.server_cpu_ms = round(1000 * (after - before) / result.requests, 3)
        return result

    for kind in KINDS:
        run(kind, args.warmup)
    results = []
    for index in range(args.rounds):
        for kind in round_order(index):
            result = run(kind, args.requests)
            results.append(result)
            line = f"  round {index + 1} {kind:12} {result.rps:8.1f} req/s  p50 {result.p50_ms} ms"
            print(f"{line}  server CPU {result.server_cpu_ms} ms/request", file=sys.stderr)
    return results


def median(results: list[RunResult], kind: str, attribute: str) -> float:
    values = [getattr(r, attribute) for r in results if r.kind == kind and getattr(r, attribute) is not None]
    return float(statistics.median(values)) if values else 0.0


def limiter_cost(results: list[RunResult], hit_us: list[float]) -> dict[str, Any]:
    """What the limiter adds: from the servers' throughput, from their CPU, and from `hit()` alone."""
    open_rps, limited_rps = median(results, "rest", "rps"), median(results, "rest_limited", "rps")
    open_cpu, limited_cpu = median(results, "rest", "server_cpu_ms"), median(results, "rest_limited", "server_cpu_ms")
    wall_us = 1e6 / limited_rps - 1e6 / open_rps if open_rps and limited_rps else None
    return {
        "rps_ratio_limited_to_open": round(limited_rps / open_rps, 3) if open_rps else None,
        "us_per_request_from_rps": round(wall_us, 1) if wall_us is not None else None,
        "us_per_request_from_server_cpu": round(1000 * (limited_cpu - open_cpu), 1) if open_cpu else None,
        "cpu_ratio_limited_to_open": round(limited_cpu / open_cpu, 3) if open_cpu else None,
        "hit_us_in_process": round(statistics.median(hit_us), 1),
        "hit_us_in_process_rounds": [round(us, 1) for us in hit_us],
    }


def summarize(args: argparse.Namespace, scenario: Scenario, results: list[RunResult], facts: dict[str, Any],
              hit_us: list[float]) -> dict[str, Any]:  # fmt: skip
    graphql_rps, rest_rps = median(results, "graphql", "rps"), median(results, "rest", "rps")
    ratio = rest_rps / graphql_rps if graphql_rps else 0.0
    limited_rps = median(results, "rest_limited", "rps")
    cpu = {kind: median(results, kind, "server_cpu_ms") for kind in KINDS}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rest": f"GET {scenario.url_path}",
        "graphql_operation": scenario.operation_name,
        "variables": scenario.variables,
        **facts,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "concurrency": args.concurrency,
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "per_address": args.per_address,
        "graphql_rps": round(graphql_rps, 1),
        "rest_rps": round(rest_rps, 1),
        "rest_limited_rps": round(limited_rps, 1),
        "ratio": round(ratio, 3),
        "ratio_with_limiter": round(limited_rps / graphql_rps, 3) if graphql_rps else 0.0,
        "server_cpu_ms_per_request": cpu,
        "cpu_ratio": round(cpu["graphql"] / cpu["rest"], 3) if cpu["rest"] else None,  # GraphQL's CPU / REST's
        "limiter": limiter_cost(results, hit_us),
        "target": args.target,
        "passed": ratio >= args.target,
        "failures": sum(r.failures for r in results),
        "runs": [{**asdict(r), "seconds": round(r.seconds, 3), "rps": round(r.rps, 1)} for r in results],
    }


@dataclass
class Running:
    servers: list[Server] = field(default_factory=list)
    kubesim: Any = None

    def stop(self) -> None:
        stop_servers(self.servers)
        if self.kubesim is not None:
            from bench.fleet_dashboard import stop

            stop(self.kubesim.process)


def seed_clusters(url: str, tenant_id: str, workdir: Path, running: Running) -> str:
    """Start kubesim with 20 empty clusters, register them as the tenant's admin; the admin's token."""
    from bench.fleet_dashboard import start_kubesim, wait_kubesim

    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    running.kubesim = start_kubesim("empty", CLUSTERS, 0, workdir, env)
    wait_kubesim(running.kubesim, time.monotonic() + 60)
    token = login(url, EMAIL)
    register_clusters(url, token, tenant_id, running.kubesim.kubeconfigs)
    return token


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="fleetgraph-bench-rest-"))
    running = Running()
    try:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        tenant_id = asyncio.run(prepare_database(url))
        scenario = scenario_for(tenant_id)
        running.servers = [start_server(name, env) for name, env in environments(url).items()]
        for server in running.servers:
            wait_ready(server, 60)
        servers = {server.kind: server for server in running.servers}
        token = seed_clusters(servers["open"].url, tenant_id, workdir, running)
        facts = {
            "upstream_calls_for_20_lists": upstream_calls(servers, token, scenario, running.kubesim),
            "check": check_answers(servers, token, scenario),
        }
        results = measure(args, servers, token, scenario)
        hit_us = [asyncio.run(limiter_hit_us(args.hits, args.per_address, scenario.url_path)) for _ in range(5)]
        return summarize(args, scenario, results, facts, hit_us)
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per kind per round")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds at most per kind per round")
    parser.add_argument("--concurrency", type=int, default=16, help="open keep-alive connections")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (the median is reported)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per kind")
    parser.add_argument("--per-address", type=int, default=250, help="requests per source address (CKS: 300/min)")
    parser.add_argument("--hits", type=int, default=20_000, help="calls per round of the in-process hit() timing")
    parser.add_argument("--target", type=float, default=TARGET, help="minimum ratio REST/GraphQL requests/s")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.rounds, args.hits) < 1 or args.duration <= 0:
        parser.error("--requests, --concurrency, --rounds, --hits and --duration must be positive")
    if not 1 <= args.per_address < 300:
        parser.error("--per-address must stay under CKS's 300 requests per minute")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(args.port or 8000)
    try:
        summary = benchmark(args)
    except Exception:
        traceback.print_exc()
        return 2
    verdict = "ok" if summary["passed"] else "BELOW TARGET"
    limiter = summary["limiter"]
    print(
        f"{summary['rest']}: graphql {summary['graphql_rps']} req/s, rest {summary['rest_rps']} req/s, "
        f"ratio {summary['ratio']} (target {summary['target']}): {verdict}; limiter +"
        f"{limiter['us_per_request_from_server_cpu']} µs CPU/request, hit() {limiter['hit_us_in_process']} µs"
    )
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if summary["failures"]:
        print(f"{summary['failures']} requests failed", file=sys.stderr)
        return 2
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
