"""GraphQL overhead: `{ me { id email tenant { name } } }` against a plain Starlette endpoint.

Both endpoints run in their own uvicorn process (one worker, 127.0.0.1, free port) on the
same SQLite file, authenticate the bearer token with `app.auth.authenticate.authenticate`
and read the user and their tenant with the same per-request loaders' queries. This
process prepares the database, starts both servers, logs in once through GraphQL and then
drives both with a keep-alive HTTP/1.1 load generator at a fixed concurrency: a warm-up,
then interleaved rounds of a bounded number of requests (and bounded time) each. It prints
a one-line result and a JSON summary, stops its servers and exits 0 when the ratio
GraphQL/plain reaches the target, 1 when it does not, 2 on errors.

    .venv/bin/python bench/graphql_overhead.py [--requests N] [--duration S] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUERY = "{ me { id email tenant { name } } }"
EMAIL = "bench@bench.example"
PASSWORD = "bench-password-123456"
TARGET = 0.6
KINDS = ("graphql", "plain")


# --------------------------------------------------------------------------- servers


def build_graphql_app(settings: Any) -> Any:
    from app.web import create_app

    return create_app(settings)


def build_plain_app(settings: Any) -> Any:
    """The same reads as the GraphQL `me` field, without the GraphQL layer."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from app.auth.authenticate import authenticate, credential_from
    from app.db.models import Tenant, User
    from app.errors import Unauthenticated
    from app.middleware import RequestIdMiddleware
    from app.services import Services
    from app.web import health
    from loaders.batch import by_id

    services = Services.from_settings(settings)

    async def me(request: Request) -> JSONResponse:
        try:
            principal = await authenticate(services.db, services.tokens, credential_from(request.headers))
        except Unauthenticated as exc:
            return JSONResponse({"errors": [{"message": exc.message}]}, status_code=401)
        if principal is None:
            return JSONResponse({"errors": [{"message": "sign in first"}]}, status_code=401)
        scope = principal.tenant_id
        [user] = await by_id(services.db, scope, User)([principal.user_id])
        assert user is not None
        tenant = (await by_id(services.db, scope, Tenant)([user.tenant_id]))[0] if user.tenant_id else None
        body = {"id": user.id, "email": user.email, "tenant": {"name": tenant.name} if tenant else None}
        return JSONResponse({"data": {"me": body}})

    return Starlette(
        routes=[Route("/health", health), Route("/me", me, methods=["GET"])],
        middleware=[Middleware(RequestIdMiddleware)],
    )


def serve(kind: str, port: int) -> int:
    """Runs in the server process; settings come from FLEETGRAPH_* set by the parent."""
    import uvicorn

    from app.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = build_graphql_app(settings) if kind == "graphql" else build_plain_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if this process dies without cleaning up."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(kind: str, env: dict[str, str]) -> Server:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--port", str(port)]
    preexec = _die_with_parent if sys.platform == "linux" else None
    process = subprocess.Popen(command, env=env, cwd=ROOT, preexec_fn=preexec)
    return Server(kind, port, process)


def wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} server exited with {server.process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(server.url + "/health", timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.kind} server not ready after {timeout:.0f}s")


def stop_servers(servers: list[Server]) -> None:
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def running_servers(env: dict[str, str], timeout: float) -> Iterator[dict[str, Server]]:
    servers: list[Server] = []
    try:
        for kind in KINDS:
            servers.append(start_server(kind, env))
        for server in servers:
            wait_ready(server, timeout)
        yield {server.kind: server for server in servers}
    finally:
        stop_servers(servers)


# --------------------------------------------------------------------------- database


async def prepare_database(url: str) -> None:
    """Migrate a fresh SQLite file and add one active tenant and one tenant admin."""
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
    hashed: Any = hash_password(PASSWORD)  # sync or async, depending on the version
    password_hash = str(await hashed if inspect.isawaitable(hashed) else hashed)
    db = Database(url)
    try:
        async with db.transaction() as session:
            tenant = Tenant(id=new_id("tenant"), name="Bench Tenant", slug="bench", admin_email=EMAIL)
            session.add(tenant)
            await session.flush()
            session.add(
                User(
                    id=new_id("user"),
                    tenant_id=tenant.id,
                    email=EMAIL,
                    name="Bench Admin",
                    role="tenant_admin",
                    password_hash=password_hash,
                )
            )
    finally:
        await db.dispose()


def post_json(url: str, payload: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = json.loads(response.read())
    return body


def get_json(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = json.loads(response.read())
    return body


def login(graphql_url: str) -> str:
    mutation = "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }"
    body = post_json(graphql_url, {"query": mutation, "variables": {"e": EMAIL, "p": PASSWORD}})
    if body.get("errors"):
        raise RuntimeError(f"login failed: {body['errors']}")
    return str(body["data"]["login"]["accessToken"])


def check_same_answer(servers: dict[str, Server], token: str) -> dict[str, Any]:
    graphql = post_json(servers["graphql"].url + "/graphql", {"query": QUERY}, token)
    plain = get_json(servers["plain"].url + "/me", token)
    if graphql.get("errors") or graphql.get("data") != plain.get("data"):
        raise RuntimeError(f"the endpoints disagree: graphql={graphql} plain={plain}")
    return plain["data"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- load generator


def request_bytes(kind: str, port: int, token: str) -> bytes:
    head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nUser-Agent: fleetgraph-bench\r\n"
    if kind == "plain":
        return f"GET /me HTTP/1.1\r\n{head}\r\n".encode()
    body = json.dumps({"query": QUERY}).encode()
    lines = f"POST /graphql HTTP/1.1\r\n{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return lines.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), None)
    if length is None:
        raise RuntimeError("response without Content-Length")
    return status, await reader.readexactly(length)


def response_ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"errors"' not in body and b'"me":{' in body


@dataclass
class RunState:
    remaining: int
    deadline: float
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    last_done: float = 0.0

    def take(self) -> bool:
        if self.remaining <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.remaining -= 1
        return True


async def connection_loop(port: int, payload: bytes, state: RunState) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while state.take():
            started = time.perf_counter()
            writer.write(payload)
            status, body = await read_response(reader)
            state.last_done = time.perf_counter()
            state.latencies.append(state.last_done - started)
            if not response_ok(status, body):
                state.failures += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass
class RunResult:
    kind: str
    requests: int
    seconds: float
    failures: int
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


async def run_load(kind: str, port: int, token: str, requests: int, seconds: float, concurrency: int) -> RunResult:
    payload = request_bytes(kind, port, token)
    started = time.perf_counter()
    state = RunState(remaining=requests, deadline=started + seconds)
    await asyncio.wait_for(
        asyncio.gather(*(connection_loop(port, payload, state) for _ in range(concurrency))), timeout=seconds + 30
    )
    latencies = sorted(state.latencies) or [0.0]
    return RunResult(
        kind=kind,
        requests=len(state.latencies),
        seconds=state.last_done - started,
        failures=state.failures,
        p50_ms=round(1000 * latencies[len(latencies) // 2], 2),
        p99_ms=round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
    )


# --------------------------------------------------------------------------- the benchmark


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint per round")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds at most per endpoint per round")
    parser.add_argument("--concurrency", type=int, default=16, help="open keep-alive connections")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (the median is reported)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per endpoint")
    parser.add_argument("--target", type=float, default=TARGET, help="minimum ratio GraphQL/plain")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.rounds) < 1 or args.duration <= 0:
        parser.error("--requests, --concurrency, --rounds and --duration must be positive")
    return args


def server_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    env.update(
        FLEETGRAPH_DATABASE_URL=url,
        FLEETGRAPH_SECRET_KEY=secrets.token_urlsafe(48),
        FLEETGRAPH_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def round_order(index: int) -> tuple[str, ...]:
    """ABBA: alternate which endpoint goes first, so drift hits both alike."""
    return KINDS if index % 2 == 0 else KINDS[::-1]


def measure(args: argparse.Namespace, servers: dict[str, Server], token: str) -> list[RunResult]:
    def run(kind: str, requests: int) -> RunResult:
        pid = servers[kind].process.pid
        before = cpu_seconds(pid)
        result = asyncio.run(run_load(kind, servers[kind].port, token, requests, args.duration, args.concurrency))
        after = cpu_seconds(pid)
        if before is not None and after is not None and result.requests:
            result.server_cpu_ms = round(1000 * (after - before) / result.requests, 2)
        return result

    for kind in KINDS:
        run(kind, args.warmup)
    results = []
    for index in range(args.rounds):
        for kind in round_order(index):
            result = run(kind, args.requests)
            results.append(result)
            line = f"  round {index + 1} {kind:7} {result.rps:8.1f} req/s  p50 {result.p50_ms} ms"
            print(f"{line}  server CPU {result.server_cpu_ms} ms/request", file=sys.stderr)
    return results


def median_of(results: list[RunResult], kind: str, value: Callable[[RunResult], float | None]) -> float | None:
    values = [v for v in (value(r) for r in results if r.kind == kind) if v is not None]
    return statistics.median(values) if values else None


def summarize(args: argparse.Namespace, results: list[RunResult], answer: dict[str, Any]) -> dict[str, Any]:
    graphql = median_of(results, "graphql", lambda r: r.rps) or 0.0
    plain = median_of(results, "plain", lambda r: r.rps) or 0.0
    ratio = graphql / plain if plain else 0.0
    cpu_graphql = median_of(results, "graphql", lambda r: r.server_cpu_ms)
    cpu_plain = median_of(results, "plain", lambda r: r.server_cpu_ms)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "query": QUERY,
        "answer": answer,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "concurrency": args.concurrency,
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "graphql_rps": round(graphql, 1),
        "plain_rps": round(plain, 1),
        "ratio": round(ratio, 3),
        "graphql_server_cpu_ms_per_request": cpu_graphql,
        "plain_server_cpu_ms_per_request": cpu_plain,
        "cpu_ratio": round(cpu_plain / cpu_graphql, 3) if cpu_plain and cpu_graphql else None,
        "target": args.target,
        "passed": ratio >= args.target,
        "failures": sum(r.failures for r in results),
        "runs": [{**asdict(r), "seconds": round(r.seconds, 3), "rps": round(r.rps, 1)} for r in results],
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="fleetgraph-bench-"))
    try:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        asyncio.run(prepare_database(url))
        with running_servers(server_env(url), timeout=60) as servers:
            token = login(servers["graphql"].url + "/graphql")
            answer = check_same_answer(servers, token)
            return summarize(args, measure(args, servers, token), answer)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(args.serve, args.port or 8000)
    summary = benchmark(args)
    verdict = "ok" if summary["passed"] else "BELOW TARGET"
    print(
        f"graphql {summary['graphql_rps']} req/s, plain {summary['plain_rps']} req/s, "
        f"ratio {summary['ratio']} (target {summary['target']}): {verdict}"
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
