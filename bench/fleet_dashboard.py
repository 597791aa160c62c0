"""Fleet dashboard: cold and warm latency, upstream calls and server memory of one fleet-wide query.

A kubesim fleet runs in its own process (`python -m kubesim ... --control`), Fleetgraph in
another (uvicorn, one worker, 127.0.0.1, a free port) on a fresh SQLite file, so the server's
RSS is Fleetgraph's alone. This process migrates the database, adds one tenant and its admin,
registers every simulated cluster through the `registerCluster` mutation, resets kubesim's
request counters and then sends the dashboard query: once cold (the first read of any cluster
state), then `--warm` times. It reads kubesim's counters over the control API after each
phase, the server's RSS from /proc, and counts the cached objects by asking kubesim how many
objects each kind the server listed holds. It prints a table per scenario and a JSON summary,
stops both processes and exits 0 when every target is met, 1 when one is missed, 2 on errors.

    .venv/bin/python bench/fleet_dashboard.py [--profile small|large|both] [--clusters N] [--warm N]

Scenarios: `small` is the demo fleet (3 clusters of the `small` profile), `large` is 5 clusters
of the `large` profile (about 5,000 pods each); `--clusters` overrides the number.
Targets: a warm query makes 0 upstream calls (watch reconnects are reported apart), and the
server's RSS, projected to 100,000 cached objects from what the cold query added, stays below
1 GiB (checked when at least 10,000 objects are cached; the small fleet reports it as n/a).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EMAIL = "bench@bench.example"
PASSWORD = "bench-password-123456"
DEFAULT_CLUSTERS = {"small": 3, "large": 5}
TARGET_OBJECTS = 100_000
TARGET_RSS_MIB = 1024.0
MIN_PROJECTED = 10_000  # below this many cached objects the server's fixed costs hide the per-object cost
MIB = 1024 * 1024

DASHBOARD = """query Dashboard($t: ID!, $n: Int!) {
  workloads(tenantId: $t) {
    items { clusterId kind name namespace replicas readyReplicas status }
    errors { clusterId clusterName code message }
  }
  namespaces(tenantId: $t) {
    items { clusterId name phase }
    errors { clusterId clusterName code message }
  }
  clusters(tenantId: $t, first: $n) {
    nodes {
      id name status
      summary { nodes readyNodes namespaces pods runningPods deployments services }
      nodes(first: 100) { totalCount nodes { name ready roles } }
      pods(first: 100) { totalCount nodes { name namespace phase } }
      workloads(first: 100) { totalCount nodes { kind name namespace replicas readyReplicas status } }
    }
  }
}"""

REGISTER = """mutation($t: ID!, $in: RegisterClusterInput!) {
  registerCluster(tenantId: $t, input: $in) { id name status provider version } }"""

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if this process dies without cleaning up."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(command: list[str], env: dict[str, str], stdout: int | None = None) -> subprocess.Popen[str]:
    preexec = _die_with_parent if sys.platform == "linux" else None
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=stdout, text=True, preexec_fn=preexec)


def stop(process: subprocess.Popen[str] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    """A memory figure of a process from /proc/<pid>/status (VmRSS, VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not found for process {pid}")


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the benchmark ran out of time")
    return left


# --------------------------------------------------------------------------- kubesim


@dataclass
class Fleet:
    process: subprocess.Popen[str]
    kubeconfigs: dict[str, Path] = field(default_factory=dict)
    servers: dict[str, str] = field(default_factory=dict)
    control: str = ""


def start_kubesim(profile: str, clusters: int, seed: int, workdir: Path, env: dict[str, str]) -> Fleet:
    command = [
        sys.executable,
        "-m",
        "kubesim",
        "--clusters",
        str(clusters),
        "--profile",
        profile,
        "--seed",
        str(seed),
        "--port",
        "0",
        "--kubeconfig-out",
        str(workdir / "kubeconfigs"),
        "--control",
    ]
    return Fleet(spawn(command, env, stdout=subprocess.PIPE))


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def wait_kubesim(fleet: Fleet, deadline: float) -> None:
    """Read the lines `python -m kubesim` prints once serving; the control line comes last."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(fleet.process.stdout, lines), daemon=True).start()
    while not fleet.control:
        try:
            line = lines.get(timeout=remaining(deadline))
        except queue.Empty:
            raise TimeoutError("kubesim did not report ready in time") from None
        if line is None:
            raise RuntimeError(f"kubesim exited with {fleet.process.wait()}")
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "control":
            fleet.control = parts[1]
        elif len(parts) == 3 and parts[0].startswith("cluster-"):
            fleet.servers[parts[0]], fleet.kubeconfigs[parts[0]] = parts[1], Path(parts[2])


def control_stats(http: httpx.Client, fleet: Fleet) -> dict[str, dict[str, Any]]:
    return {name: http.get(f"{fleet.control}/clusters/{name}/stats").json() for name in fleet.servers}


def reset_counters(http: httpx.Client, fleet: Fleet) -> None:
    for name in fleet.servers:
        http.post(f"{fleet.control}/clusters/{name}/reset").raise_for_status()


def token_of(kubeconfig: Path) -> str:
    config = yaml.safe_load(kubeconfig.read_text())
    return str(config["users"][0]["user"]["token"])


def group_versions(http: httpx.Client, server: str, headers: dict[str, str]) -> dict[str, str]:
    groups = http.get(f"{server}/apis", headers=headers).json().get("groups", [])
    return {g["name"]: g["preferredVersion"]["groupVersion"] for g in groups}


def object_count(http: httpx.Client, server: str, headers: dict[str, str], path: str) -> int:
    """How many objects a LIST returns, asked as one item plus `remainingItemCount`."""
    body = http.get(f"{server}{path}", params={"limit": 1}, headers=headers).json()
    return len(body.get("items") or []) + int((body.get("metadata") or {}).get("remainingItemCount") or 0)


def cached_objects(http: httpx.Client, fleet: Fleet, listed: dict[str, list[str]]) -> dict[str, int]:
    """Objects per kind (summed over clusters) of every kind the server listed on each cluster."""
    totals: Counter[str] = Counter()
    for name, resources in listed.items():
        headers = {"Authorization": f"Bearer {token_of(fleet.kubeconfigs[name])}"}
        versions = group_versions(http, fleet.servers[name], headers)
        for resource in resources:
            plural, _, group = resource.partition(".")
            path = f"/apis/{versions[group]}/{plural}" if group else f"/api/v1/{plural}"
            totals[resource] += object_count(http, fleet.servers[name], headers, path)
    return dict(sorted(totals.items()))


# --------------------------------------------------------------------------- Fleetgraph server


def serve(port: int, heap_file: Path | None) -> int:
    """Runs in the server process; settings come from FLEETGRAPH_* set by the parent."""
    import uvicorn

    from app.settings import Settings
    from app.web import create_app

    if heap_file is not None:
        start_heap_profile(heap_file)
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
    return 0


def start_heap_profile(path: Path) -> None:
    """tracemalloc from the start; SIGUSR1 writes the largest allocation sites to `path`."""
    tracemalloc.start(8)

    def dump(signum: int, frame: FrameType | None) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        current, peak = tracemalloc.get_traced_memory()
        lines = [f"traced {current / MIB:.1f} MiB (peak {peak / MIB:.1f} MiB)", "", "by line:"]
        lines += [str(stat) for stat in snapshot.statistics("lineno")[:30]]
        lines += ["", "by file:"] + [str(stat) for stat in snapshot.statistics("filename")[:20]]
        path.write_text("\n".join(lines) + "\n")

    signal.signal(signal.SIGUSR1, dump)


def server_env(base: dict[str, str], url: str, settings: dict[str, str]) -> dict[str, str]:
    """The server's environment: the default settings but for the database, a key and `settings`."""
    env = {k: v for k, v in base.items() if not k.startswith("FLEETGRAPH_")}
    env.update(
        FLEETGRAPH_DATABASE_URL=url,
        FLEETGRAPH_SECRET_KEY=secrets.token_urlsafe(48),
        FLEETGRAPH_LOG_LEVEL="WARNING",
        FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS="127.0.0.0/8",  # kubesim listens on loopback
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")])),
    )
    env.update({"FLEETGRAPH_" + name.upper(): value for name, value in settings.items()})
    return env


def start_server(env: dict[str, str], heap_file: Path | None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port)]
    if heap_file is not None:
        command += ["--heap-file", str(heap_file)]
        env = {**env, "FLEETGRAPH_K8S_TIMEOUT_SECONDS": "300"}  # tracemalloc slows parsing a large LIST tenfold
    return spawn(command, env), f"http://127.0.0.1:{port}"


def wait_server(http: httpx.Client, process: subprocess.Popen[str], url: str, deadline: float) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the Fleetgraph server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if http.get(url + "/health", timeout=1).status_code == 200:
                return
        time.sleep(min(0.1, remaining(deadline)))


async def prepare_database(url: str, max_clusters: int) -> None:
    """Migrate a fresh SQLite file and add one tenant (room for every cluster) and its admin."""
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
        async with db.transaction() as session:
            tenant = Tenant(
                id=new_id("tenant"),
                name="Bench Fleet",
                slug="bench-fleet",
                admin_email=EMAIL,
                max_clusters=max_clusters,
            )
            session.add(tenant)
            await session.flush()
            session.add(
                User(
                    id=new_id("user"),
                    tenant_id=tenant.id,
                    email=EMAIL,
                    name="Bench Admin",
                    role="tenant_admin",
                    password_hash=await hash_password(PASSWORD),
                )
            )
    finally:
        await db.dispose()


# --------------------------------------------------------------------------- GraphQL


def graphql(
    http: httpx.Client, url: str, query: str, variables: dict[str, Any], token: str | None = None, timeout: float = 60
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post(
        url + "/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=timeout
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"GraphQL failed ({response.status_code}): {str(body.get('errors'))[:2000]}")
    return body["data"]  # type: ignore[no-any-return]


def login(http: httpx.Client, url: str) -> tuple[str, str]:
    token = graphql(http, url, LOGIN, {"e": EMAIL, "p": PASSWORD})["login"]["accessToken"]
    me = graphql(http, url, "{ me { tenantId } }", {}, token)
    return str(token), str(me["me"]["tenantId"])


def register_clusters(http: httpx.Client, url: str, token: str, tenant: str, fleet: Fleet) -> list[str]:
    ids = []
    for name, path in sorted(fleet.kubeconfigs.items()):
        variables = {"t": tenant, "in": {"name": name, "kubeconfig": path.read_text(), "tags": {"bench": "fleet"}}}
        ids.append(graphql(http, url, REGISTER, variables, token)["registerCluster"]["id"])
    return ids


@dataclass
class Timed:
    seconds: float
    data: dict[str, Any]


def dashboard(http: httpx.Client, url: str, token: str, tenant: str, clusters: int, timeout: float) -> Timed:
    started = time.perf_counter()
    data = graphql(http, url, DASHBOARD, {"t": tenant, "n": clusters}, token, timeout=timeout)
    return Timed(time.perf_counter() - started, data)


def shape(data: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard shows, in numbers."""
    clusters = data["clusters"]["nodes"]
    return {
        "clusters": len(clusters),
        "fleetWorkloads": len(data["workloads"]["items"]),
        "fleetNamespaces": len(data["namespaces"]["items"]),
        "fleetErrors": len(data["workloads"]["errors"]) + len(data["namespaces"]["errors"]),
        "nodes": sum(c["nodes"]["totalCount"] for c in clusters),
        "pods": sum(c["pods"]["totalCount"] for c in clusters),
        "runningPods": sum(c["summary"]["runningPods"] for c in clusters),
        "workloads": sum(c["workloads"]["totalCount"] for c in clusters),
    }


# --------------------------------------------------------------------------- upstream calls


def counter_delta(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per cluster, the request counters ("list pods", "watch pods", ...) that grew, and by how much."""
    delta: dict[str, dict[str, int]] = {}
    for name, stats in after.items():
        old = before.get(name, {}).get("counters", {})
        grown = {k: v - old.get(k, 0) for k, v in stats["counters"].items() if v - old.get(k, 0) > 0}
        grown["(other requests)"] = stats["requests"] - before.get(name, {}).get("requests", 0)
        delta[name] = grown
    return delta


def verb_totals(delta: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for calls in delta.values():
        for key, count in calls.items():
            totals[key.split(" ", 1)[0] if not key.startswith("(") else "other"] += count
    return dict(totals)


def upstream_summary(delta: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Lists, gets, watches and the rest; `(other requests)` is every finished HTTP request."""
    verbs = verb_totals(delta)
    finished = verbs.pop("other", 0)
    lists = {
        f"{name} {key[5:]}": n for name, calls in delta.items() for key, n in calls.items() if key.startswith("list ")
    }
    calls = sum(n for key, n in verbs.items() if key != "watch")
    return {
        "lists": sum(lists.values()),
        "maxListsPerClusterKind": max(lists.values(), default=0),
        "gets": verbs.get("get", 0),
        "watches": verbs.get("watch", 0),
        "otherVerbs": {k: v for k, v in verbs.items() if k not in ("list", "get", "watch")},
        "nonWatchCalls": calls,
        # finished requests other than those calls: /version and discovery (health checks), ended watches
        "otherRequests": finished - calls,
        "perCluster": {name: {k: v for k, v in c.items() if not k.startswith("(")} for name, c in delta.items()},
    }


def listed_kinds(delta: dict[str, dict[str, int]]) -> dict[str, list[str]]:
    return {name: sorted(k[5:] for k in calls if k.startswith("list ")) for name, calls in delta.items()}


# --------------------------------------------------------------------------- one scenario


@dataclass
class Scenario:
    profile: str
    clusters: int
    seed: int
    warm: int
    settle: float
    heap_file: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    scenario: dict[str, Any]
    fleet_start_seconds: float = 0.0
    register_seconds: float = 0.0
    cold_ms: float = 0.0
    warm_ms: list[float] = field(default_factory=list)
    response_bytes: int = 0
    shown: dict[str, Any] = field(default_factory=dict)
    cold_calls: dict[str, Any] = field(default_factory=dict)
    warm_calls: dict[str, Any] = field(default_factory=dict)
    rss_before_mib: float = 0.0
    rss_cold_mib: float = 0.0
    rss_warm_mib: float = 0.0
    peak_rss_mib: float = 0.0
    objects: dict[str, int] = field(default_factory=dict)
    checks: dict[str, bool | None] = field(default_factory=dict)

    @property
    def cached(self) -> int:
        return sum(self.objects.values())

    def projected_rss_mib(self) -> float:
        """RSS at TARGET_OBJECTS cached objects: the base plus what each cached object added."""
        if not self.cached:
            return 0.0
        per_object = max(0.0, self.rss_cold_mib - self.rss_before_mib) / self.cached
        return self.rss_before_mib + per_object * max(TARGET_OBJECTS, self.cached)


def run_scenario(scenario: Scenario, timeout: float) -> Result:
    deadline = time.monotonic() + timeout
    result = Result(scenario={k: str(v) if isinstance(v, Path) else v for k, v in asdict(scenario).items()})
    workdir = Path(tempfile.mkdtemp(prefix="fleetgraph-dashboard-"))
    kubesim: Fleet | None = None
    server: subprocess.Popen[str] | None = None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        url = f"sqlite+aiosqlite:///{workdir / 'fleet.db'}"
        asyncio.run(prepare_database(url, max_clusters=scenario.clusters))
        started = time.monotonic()
        kubesim = start_kubesim(scenario.profile, scenario.clusters, scenario.seed, workdir, env)
        server, base = start_server(server_env(env, url, scenario.settings), scenario.heap_file)
        with httpx.Client(timeout=60) as http:
            wait_kubesim(kubesim, deadline)
            result.fleet_start_seconds = time.monotonic() - started
            wait_server(http, server, base, deadline)
            measure(http, scenario, kubesim, server, base, result, deadline)
        return result
    finally:
        stop(server)
        stop(kubesim.process if kubesim else None)
        shutil.rmtree(workdir, ignore_errors=True)


def measure(
    http: httpx.Client,
    scenario: Scenario,
    fleet: Fleet,
    server: subprocess.Popen[str],
    base: str,
    result: Result,
    deadline: float,
) -> None:
    token, tenant = login(http, base)
    started = time.monotonic()
    register_clusters(http, base, token, tenant, fleet)
    result.register_seconds = time.monotonic() - started
    reset_counters(http, fleet)
    result.rss_before_mib = rss_mib(server.pid)
    zero = control_stats(http, fleet)

    cold = dashboard(http, base, token, tenant, scenario.clusters, remaining(deadline))
    result.cold_ms = 1000 * cold.seconds
    result.rss_cold_mib = rss_mib(server.pid)
    result.shown = shape(cold.data)
    result.response_bytes = len(json.dumps(cold.data, separators=(",", ":")))
    time.sleep(min(scenario.settle, remaining(deadline)))  # the caches open their watches now
    after_cold = control_stats(http, fleet)
    cold_delta = counter_delta(zero, after_cold)
    result.cold_calls = upstream_summary(cold_delta)
    if scenario.heap_file is not None:
        dump_heap(server, scenario.heap_file, deadline)

    for _ in range(scenario.warm):
        result.warm_ms.append(
            1000 * dashboard(http, base, token, tenant, scenario.clusters, remaining(deadline)).seconds
        )
    result.warm_calls = upstream_summary(counter_delta(after_cold, control_stats(http, fleet)))
    result.rss_warm_mib = rss_mib(server.pid)
    result.peak_rss_mib = rss_mib(server.pid, "VmHWM")
    result.objects = cached_objects(http, fleet, listed_kinds(cold_delta))
    result.checks = checks(result)


def dump_heap(server: subprocess.Popen[str], path: Path, deadline: float) -> None:
    path.unlink(missing_ok=True)
    server.send_signal(signal.SIGUSR1)
    while not path.exists() or not path.stat().st_size:
        time.sleep(min(0.5, remaining(deadline)))
    print(f"heap profile written to {path}", file=sys.stderr)


def checks(result: Result) -> dict[str, bool | None]:
    """Each target met (True), missed (False) or not applicable (None)."""
    memory = 0 < result.projected_rss_mib() < TARGET_RSS_MIB if result.cached >= MIN_PROJECTED else None
    return {
        "coldAtMostOneListPerClusterKind": result.cold_calls["maxListsPerClusterKind"] <= 1,
        "coldNoGets": result.cold_calls["gets"] == 0,
        "noClusterErrors": result.shown.get("fleetErrors", 1) == 0,
        "warmZeroUpstreamCalls": result.warm_calls["nonWatchCalls"] == 0,
        "rssBelow1GiBAt100kObjects": memory,
    }


# --------------------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def summarize(result: Result) -> dict[str, Any]:
    summary = asdict(result)
    summary.update(
        cached_objects=result.cached,
        warm_median_ms=round(statistics.median(result.warm_ms), 1) if result.warm_ms else None,
        warm_p95_ms=round(percentile(result.warm_ms, 0.95), 1) if result.warm_ms else None,
        rss_per_1k_objects_mib=round(1000 * (result.rss_cold_mib - result.rss_before_mib) / result.cached, 2)
        if result.cached
        else None,
        projected_rss_100k_mib=round(result.projected_rss_mib(), 1),
        passed=all(ok is not False for ok in result.checks.values()),
    )
    summary["warm_ms"] = [round(v, 1) for v in result.warm_ms]
    return summary


def report(summary: dict[str, Any]) -> str:
    scenario, shown = summary["scenario"], summary["shown"]
    cold, warm = summary["cold_calls"], summary["warm_calls"]
    lines = [
        f"== {scenario['profile']} x {scenario['clusters']} clusters (seed {scenario['seed']})",
        f"fleet ready in {summary['fleet_start_seconds']:.1f} s, {scenario['clusters']} clusters registered "
        f"in {summary['register_seconds']:.1f} s",
        f"shown: {shown['pods']} pods, {shown['workloads']} workloads, {shown['nodes']} nodes, "
        f"{shown['fleetNamespaces']} namespaces, response {summary['response_bytes'] / MIB:.1f} MiB",
        f"cold: {summary['cold_ms']:.0f} ms, {cold['lists']} LISTs (max {cold['maxListsPerClusterKind']} per "
        f"cluster and kind), {cold['gets']} GETs, {cold['watches']} watches opened",
        f"warm: median {summary['warm_median_ms']} ms, p95 {summary['warm_p95_ms']} ms over "
        f"{len(summary['warm_ms'])} queries; {warm['nonWatchCalls']} upstream calls, "
        f"{warm['watches']} watch reconnects, {warm['otherRequests']} other requests (version, ended watches)",
        f"RSS: {summary['rss_before_mib']:.0f} MiB before, {summary['rss_cold_mib']:.0f} MiB after cold, "
        f"{summary['rss_warm_mib']:.0f} MiB after warm (peak {summary['peak_rss_mib']:.0f} MiB)",
        f"cached objects: {summary['cached_objects']} ({summary['rss_per_1k_objects_mib']} MiB per 1,000); "
        f"projected RSS at {TARGET_OBJECTS:,}: {summary['projected_rss_100k_mib']:.0f} MiB",
    ]
    marks = {True: "ok  ", False: "MISS", None: "n/a "}
    lines += [f"  {marks[ok]} {name}" for name, ok in summary["checks"].items()]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--profile",
        choices=("small", "large", "both"),
        default="small",
        help="small: the demo fleet; large: about 5,000 pods per cluster; both: one after the other",
    )
    parser.add_argument("--clusters", type=int, help="clusters per scenario (default 3 small, 5 large)")
    parser.add_argument("--warm", type=int, default=20, help="warm queries after the cold one")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between the cold and the warm queries")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds at most per scenario")
    parser.add_argument(
        "--heap-profile",
        type=Path,
        help="run the server under tracemalloc and write its top "
        "allocation sites after the cold query to this file (slows the server)",
    )
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting, e.g. k8s_burst=20 (FLEETGRAPH_K8S_BURST); repeatable",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--heap-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.setting):
        parser.error("--setting takes NAME=VALUE")
    if (args.clusters is not None and args.clusters < 1) or args.warm < 1 or args.timeout <= 0:
        parser.error("--clusters, --warm and --timeout must be positive")
    return args


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    profiles = ("small", "large") if args.profile == "both" else (args.profile,)
    return [
        Scenario(
            p,
            args.clusters or DEFAULT_CLUSTERS[p],
            args.seed,
            args.warm,
            args.settle,
            args.heap_profile.resolve() if args.heap_profile else None,
            dict(item.split("=", 1) for item in args.setting),
        )
        for p in profiles
    ]


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError("the benchmark ran out of time")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(args.port or 8000, args.heap_file)
    runs = scenarios(args)
    signal.signal(signal.SIGALRM, _on_alarm)  # a hard stop if a wait hangs past every deadline
    signal.alarm(int(args.timeout * len(runs) + 60))
    summaries = []
    try:
        for scenario in runs:
            summary = summarize(run_scenario(scenario, args.timeout))
            print(report(summary), flush=True)
            summaries.append(summary)
    except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "query": DASHBOARD,
        "scenarios": summaries,
    }
    text = json.dumps(document, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if all(s["passed"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
