"""Subscriptions: N `resourceEvents` subscribers on one Fleetgraph process against a raw
Starlette websocket broadcast of the same payload.

kubesim runs one cluster in its own process; Fleetgraph runs in another (uvicorn, one worker,
127.0.0.1) on a fresh SQLite file with one tenant, one registered cluster and one user token.
Load-generator processes open N graphql-transport-ws connections (the token in
`connection_init`, one subscription each to ConfigMaps in namespace `bench`) with a minimal
websocket client of their own (asyncio protocol on uvloop, frames parsed in bulk, the send
stamp found by a regular expression: no JSON decoding). This process patches ConfigMaps in
kubesim at `--rate` events/s over HTTP, each patch carrying its send time in `data.sent`, so
latency is client receive time minus the producer's send time (it includes the PATCH itself,
kubesim's commit and watch, Fleetgraph and the client).

The baseline is a Starlette app in this file, run as its own uvicorn process: it watches the
same ConfigMaps on kubesim, builds the same graphql-transport-ws `next` message once per event
and sends it to every connected websocket in turn.

Per N and server: delivered events/s (all subscribers), latency p50/p99, events missing at the
end, server RSS before and after subscribing (RSS per subscriber) and its peak.

    .venv/bin/python bench/subscriptions.py [--subscribers 1000,5000,10000] [--rate 200] [--duration 20]

Targets: 10,000 subscribers with p99 < 250 ms; Fleetgraph delivers at least 0.5 of the
baseline's events/s. Exit status 0 when met, 1 when missed, 2 on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet_dashboard as fd  # noqa: E402

ROOT = fd.ROOT
NAMESPACE = "bench"
TARGET_SUBSCRIBERS = 10_000
TARGET_P99_MS = 250.0
TARGET_RATIO = 0.5
QUERY = (
    'subscription($c: ID!) { resourceEvents(clusterId: $c, kind: "ConfigMap", namespace: "bench") '
    "{ type clusterId kind namespace name resourceVersion object timestamp } }"
)

# --------------------------------------------------------------------------- latency histogram

FINE_BINS = 100_000  # 0.1 ms bins up to 10 s
COARSE_BINS = 60_000  # then 10 ms bins up to 610 s


def bin_of(seconds: float) -> int:
    if seconds < 10.0:
        return max(0, int(seconds * 10_000))
    return FINE_BINS + min(COARSE_BINS - 1, int((seconds - 10.0) * 100))


def seconds_of(index: int) -> float:
    return index / 10_000 if index < FINE_BINS else 10.0 + (index - FINE_BINS) / 100


def percentile_ms(histogram: dict[int, int], fraction: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = fraction * total, 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return round(1000 * seconds_of(index), 1)
    return None


# --------------------------------------------------------------------------- load generator

STAMP = re.compile(rb'"sent": ?"([0-9.]+)"')
ZERO_MASK = b"\x00\x00\x00\x00"  # clients must mask; a zero key leaves the payload as is


def frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65_536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    return head + ZERO_MASK + payload


@dataclass
class Stats:
    window: tuple[float, float] = (float("inf"), float("inf"))
    histogram: array[int] = field(default_factory=lambda: array("l", bytes(8 * (FINE_BINS + COARSE_BINS))))
    received: int = 0  # every event message
    in_window: int = 0  # event messages received inside the window (throughput)
    measured: int = 0  # events sent inside the window and received (latency)
    resyncs: int = 0
    errors: int = 0
    closed: int = 0
    first_error: str = ""

    def event(self, sent: float, now: float) -> None:
        self.received += 1
        start, end = self.window
        if start <= now <= end:
            self.in_window += 1
        if start <= sent <= end:
            self.measured += 1
            self.histogram[bin_of(now - sent)] += 1

    def other(self, payload: bytes) -> None:
        if b'"RESYNC"' in payload:
            self.resyncs += 1
            return
        self.errors += 1
        self.first_error = self.first_error or payload[:300].decode(errors="replace")

    def report(self) -> dict[str, Any]:
        hist = {i: n for i, n in enumerate(self.histogram) if n}
        return {
            "received": self.received,
            "in_window": self.in_window,
            "measured": self.measured,
            "resyncs": self.resyncs,
            "errors": self.errors,
            "closed": self.closed,
            "first_error": self.first_error,
            "histogram": hist,
        }


class Client(asyncio.Protocol):
    """One websocket: handshake, then (graphql-transport-ws) init and one subscription."""

    def __init__(self, stats: Stats, request: bytes, messages: list[bytes], ready: asyncio.Future[None]) -> None:
        self.stats, self.request, self.messages, self.ready = stats, request, messages, ready
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.closed += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.upgraded and not self._upgrade():
            return
        self._frames(now)

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            self.ready.set_exception(ConnectionError(head[:200].decode(errors="replace")))
            self.transport.close()  # type: ignore[union-attr]
            return False
        self.upgraded = True
        self._send_next()
        return True

    def _send_next(self) -> None:
        """Send the next handshake message (init, then subscribe), or report ready."""
        if self.messages:
            self.transport.write(frame(1, self.messages.pop(0)))  # type: ignore[union-attr]
        if not self.messages and not self.ready.done():
            self.ready.set_result(None)

    def _frames(self, now: float) -> None:
        buf, pos = self.buffer, 0
        while len(buf) - pos >= 2:
            size, start = buf[pos + 1] & 0x7F, pos + 2
            if size == 126:
                size, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif size == 127:
                size, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if len(buf) < start + size:
                break
            self._message(buf[pos] & 0x0F, bytes(buf[start : start + size]), now)
            pos = start + size
        if pos:
            del buf[:pos]

    def _message(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 1:
            match = STAMP.search(payload)
            if match is not None:
                self.events += 1
                self.stats.event(float(match.group(1)), now)
            elif b'"connection_ack"' in payload:
                self._send_next()
            elif b'"ping"' in payload:
                self.transport.write(frame(1, b'{"type":"pong"}'))  # type: ignore[union-attr]
            else:
                self.stats.other(payload)
        elif opcode == 9:
            self.transport.write(frame(10, payload))  # type: ignore[union-attr]
        elif opcode == 8:
            self.stats.other(b"close " + payload[:2].hex().encode() + b" " + payload[2:])
            self.transport.close()  # type: ignore[union-attr]


@dataclass
class LoadTarget:
    host: str
    port: int
    path: str
    token: str
    cluster: str
    protocol: str  # "graphql-transport-ws", or "" for the baseline


def upgrade_request(target: LoadTarget) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {target.path} HTTP/1.1",
        f"Host: {target.host}:{target.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if target.protocol:
        lines.append(f"Sec-WebSocket-Protocol: {target.protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def handshake_messages(target: LoadTarget) -> list[bytes]:
    if not target.protocol:
        return []
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {target.token}"}}
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": QUERY, "variables": {"c": target.cluster}}}
    return [json.dumps(init).encode(), json.dumps(subscribe).encode()]


class LoadGenerator:
    def __init__(self, target: LoadTarget) -> None:
        self.target = target
        self.stats = Stats()
        self.clients: list[Client] = []
        self.failures: list[str] = []

    async def open(self, count: int, concurrency: int = 200) -> float:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                ready: asyncio.Future[None] = loop.create_future()
                client = Client(self.stats, upgrade_request(self.target), handshake_messages(self.target), ready)
                try:
                    await loop.create_connection(lambda: client, self.target.host, self.target.port)
                    await asyncio.wait_for(ready, 60)
                    self.clients.append(client)
                except (OSError, TimeoutError, ConnectionError) as exc:
                    self.failures.append(str(exc)[:200])

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(count)))
        return time.monotonic() - started

    def status(self) -> dict[str, Any]:
        return {
            "clients": len(self.clients),
            "with_events": sum(1 for c in self.clients if c.events),
            "failures": len(self.failures),
            "first_failure": self.failures[0] if self.failures else "",
            "errors": self.stats.errors,
            "first_error": self.stats.first_error,
        }

    def close(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.close()


def _stdin_lines(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, "quit")


def _answer(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


async def loadgen_main(target: LoadTarget) -> None:
    """Commands on stdin, one JSON answer per line on stdout: open N, status, window T0 T1, report, quit."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    threading.Thread(target=_stdin_lines, args=(loop, lines), daemon=True).start()
    generator = LoadGenerator(target)
    while True:
        command, *args = (await lines.get()).split()
        if command == "open":
            seconds = await generator.open(int(args[0]))
            _answer({"seconds": seconds, **generator.status()})
        elif command == "status":
            _answer(generator.status())
        elif command == "window":
            generator.stats.window = (float(args[0]), float(args[1]))
            _answer({"ok": True})
        elif command == "report":
            _answer({**generator.stats.report(), **generator.status()})
        else:
            generator.close()
            return


def run_loadgen(args: argparse.Namespace) -> int:
    import uvloop

    target = LoadTarget("127.0.0.1", args.port, args.path, args.token or "", args.cluster or "", args.protocol or "")
    uvloop.run(loadgen_main(target))
    return 0


class LoadProcess:
    """A load-generator subprocess driven over its stdin and stdout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @classmethod
    def start(cls, env: dict[str, str], target: LoadTarget) -> LoadProcess:
        command = [sys.executable, str(Path(__file__).resolve()), "--loadgen", "--port", str(target.port)]
        command += ["--path", target.path, "--token", target.token, "--cluster", target.cluster]
        command += ["--protocol", target.protocol]
        preexec = fd._die_with_parent if sys.platform == "linux" else None
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=preexec
        )
        return cls(process)

    def ask(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a load generator exited with {self.process.wait()}")
        return json.loads(line)  # type: ignore[no-any-return]

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.ask("quit")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        fd.stop(self.process)


def ask_all(loads: list[LoadProcess], commands: list[str]) -> list[dict[str, Any]]:
    for load, command in zip(loads, commands, strict=True):
        load.ask(command)
    return [load.answer() for load in loads]


# --------------------------------------------------------------------------- baseline server


def event_message(event: dict[str, Any], cluster_id: str) -> str:
    """The graphql-transport-ws `next` message Fleetgraph sends for a watch event."""
    obj = event["object"]
    meta = obj.get("metadata") or {}
    meta.pop("managedFields", None)  # Fleetgraph's cache drops them too
    data = {
        "type": event["type"],
        "clusterId": cluster_id,
        "kind": "ConfigMap",
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "resourceVersion": meta.get("resourceVersion"),
        "object": obj,
        "timestamp": datetime.now(UTC).isoformat(),
    }
    return json.dumps({"id": "1", "type": "next", "payload": {"data": {"resourceEvents": data}}})


class Broadcaster:
    """Every connected websocket gets each watch event, serialised once, sent one after the other."""

    def __init__(self, kube_url: str, kube_token: str) -> None:
        self.kube_url, self.kube_token = kube_url, kube_token
        self.sockets: set[Any] = set()

    async def watch(self) -> None:
        headers = {"Authorization": f"Bearer {self.kube_token}"}
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
        async with httpx.AsyncClient(base_url=self.kube_url, headers=headers, timeout=None) as http:
            rv = (await http.get(path)).json()["metadata"]["resourceVersion"]
            while True:
                params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "false"}
                async with http.stream("GET", path, params=params) as response:
                    async for line in response.aiter_lines():
                        event = json.loads(line) if line else {}
                        if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                            rv = event["object"]["metadata"]["resourceVersion"]
                            await self.send(event_message(event, "baseline"))

    async def send(self, text: str) -> None:
        for socket in list(self.sockets):
            with contextlib.suppress(Exception):
                await socket.send_text(text)


def baseline_app(kube_url: str, kube_token: str) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    hub = Broadcaster(kube_url, kube_token)

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"status": "healthy"})

    async def endpoint(socket: WebSocket) -> None:
        await socket.accept()
        hub.sockets.add(socket)
        try:
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            hub.sockets.discard(socket)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.watch())
        yield
        task.cancel()

    return Starlette(routes=[Route("/health", health), WebSocketRoute("/ws", endpoint)], lifespan=lifespan)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.baseline:
        app = baseline_app(args.kube_url, args.kube_token)
    else:
        from app.settings import Settings
        from app.web import create_app

        app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    if args.profile_out:
        start_profile(Path(args.profile_out))
    uvicorn.run(app, host="127.0.0.1", port=args.port, workers=1, log_level="warning", access_log=False)
    return 0


def start_profile(path: Path) -> None:
    """cProfile from the start; SIGUSR1 writes the statistics to `path`."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()

    def dump(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(path)

    signal.signal(signal.SIGUSR1, dump)


def start_server(
    env: dict[str, str], baseline: tuple[str, str] | None, profile_out: Path | None = None
) -> tuple[subprocess.Popen[str], int]:
    port = fd.free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port)]
    if profile_out is not None:
        command += ["--profile-out", str(profile_out)]
    if baseline is not None:
        command += ["--baseline", "--kube-url", baseline[0], "--kube-token", baseline[1]]
    return fd.spawn(command, env), port


# --------------------------------------------------------------------------- producer


@dataclass
class Kube:
    url: str
    token: str
    pid: int

    def client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)


async def seed_kube(kube: Kube, configmaps: int) -> None:
    async with kube.client() as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
        for i in range(configmaps):
            body = {"metadata": {"name": f"cm-{i}", "namespace": NAMESPACE}, "data": {"sent": "0", "seq": "0"}}
            response = await http.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=body)
            if response.status_code not in (201, 409):
                raise RuntimeError(f"creating a ConfigMap failed: {response.status_code} {response.text[:200]}")


@dataclass
class Produced:
    sent: int = 0
    in_window: int = 0
    failed: int = 0
    round_trips: list[float] = field(default_factory=list)


async def patch(http: Any, name: str, seq: int, produced: Produced, window: tuple[float, float]) -> None:
    sent = time.time()
    body = json.dumps({"data": {"sent": f"{sent:.6f}", "seq": str(seq)}})
    try:
        async with http.patch(f"/api/v1/namespaces/{NAMESPACE}/configmaps/{name}", data=body) as response:
            await response.read()
            ok = response.status == 200
    except (TimeoutError, OSError):
        ok = False
    produced.sent += ok
    produced.in_window += ok and window[0] <= sent <= window[1]
    produced.failed += not ok
    produced.round_trips.append(time.time() - sent)


async def produce(kube: Kube, rate: float, until: float, configmaps: int, window: tuple[float, float]) -> Produced:
    """PATCH ConfigMaps round-robin at `rate` per second until the wall clock reaches `until`
    (aiohttp: its C parser keeps the producer's own CPU cost low)."""
    import aiohttp

    produced, tasks = Produced(), set()
    headers = {"Authorization": f"Bearer {kube.token}", "Content-Type": "application/merge-patch+json"}
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(kube.url, headers=headers, connector=connector) as http:
        started, seq = time.time(), 0
        while time.time() < until:
            await asyncio.sleep(max(0.0, started + seq / rate - time.time()))
            task = asyncio.create_task(patch(http, f"cm-{seq % configmaps}", seq, produced, window))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            seq += 1
        await asyncio.gather(*tasks)
    return produced


async def probe(kube: Kube, loads: list[LoadProcess], want: int, deadline: float, limit: float = 90.0) -> int:
    """Patch until every connected client has received an event (its subscription is live), or
    for `limit` seconds at most; returns how many clients have received one."""
    stop_at = min(deadline, time.monotonic() + limit)
    async with kube.client() as http:
        seq = 0
        while True:
            body = {"data": {"sent": f"{time.time():.6f}", "seq": f"probe-{seq}"}}
            headers = {"Content-Type": "application/merge-patch+json"}
            await http.patch(f"/api/v1/namespaces/{NAMESPACE}/configmaps/cm-0", json=body, headers=headers)
            await asyncio.sleep(1.0)
            live = sum(s["with_events"] for s in ask_all(loads, ["status"] * len(loads)))
            if live >= want or time.monotonic() > stop_at:
                return live
            seq += 1


# --------------------------------------------------------------------------- one scenario


@dataclass
class Config:
    rate: float
    duration: float
    warmup: float
    grace: float
    configmaps: int
    loadgens: int
    timeout: float
    server_profile: Path | None = None


@dataclass
class Outcome:
    server: str
    subscribers: int
    connected: int = 0
    live: int = 0  # subscribers that had received an event before the load started
    connect_seconds: float = 0.0
    rss_one_mib: float = 0.0
    rss_subscribed_mib: float = 0.0
    rss_after_mib: float = 0.0
    peak_rss_mib: float = 0.0
    produced: int = 0
    produced_per_s: float = 0.0
    patch_p50_ms: float = 0.0
    expected: int = 0
    delivered_per_s: float = 0.0
    measured: int = 0
    missing: int = 0
    resyncs: int = 0
    errors: int = 0
    first_error: str = ""
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    kubesim_cpu_s: float = 0.0

    @property
    def rss_per_subscriber_kib(self) -> float:
        extra = self.connected - 1
        return 1024 * (self.rss_subscribed_mib - self.rss_one_mib) / extra if extra > 0 else 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def subscribe_all(
    kube: Kube, loads: list[LoadProcess], server: subprocess.Popen[str], n: int, outcome: Outcome, deadline: float
) -> None:
    """One subscriber first (the watch and caches start), then the rest; RSS after each step."""
    ask_all(loads[:1], ["open 1"])
    await probe(kube, loads[:1], 1, deadline)
    outcome.rss_one_mib = fd.rss_mib(server.pid)
    counts = split(n - 1, len(loads))
    started = time.monotonic()
    answers = ask_all(loads, [f"open {c}" for c in counts])
    outcome.connect_seconds = time.monotonic() - started
    outcome.connected = sum(a["clients"] for a in answers)
    failures = [a["first_failure"] for a in answers if a["failures"]]
    if failures:
        print(f"  {sum(a['failures'] for a in answers)} connections failed, e.g. {failures[0]}", file=sys.stderr)
    outcome.live = await probe(kube, loads, outcome.connected, deadline)
    await asyncio.sleep(1.0)
    outcome.rss_subscribed_mib = fd.rss_mib(server.pid)


def merge_reports(reports: list[dict[str, Any]]) -> tuple[dict[int, int], dict[str, Any]]:
    histogram: dict[int, int] = {}
    for report in reports:
        for index, count in report["histogram"].items():
            histogram[int(index)] = histogram.get(int(index), 0) + count
    totals = {k: sum(r[k] for r in reports) for k in ("received", "in_window", "measured", "resyncs", "errors")}
    totals["first_error"] = next((r["first_error"] for r in reports if r["first_error"]), "")
    return histogram, totals


async def load_phase(
    kube: Kube, loads: list[LoadProcess], server: subprocess.Popen[str], config: Config, outcome: Outcome
) -> None:
    start = time.time() + config.warmup
    window = (start, start + config.duration)
    ask_all(loads, [f"window {window[0]} {window[1]}"] * len(loads))
    produced_task = asyncio.create_task(produce(kube, config.rate, window[1], config.configmaps, window))
    await asyncio.sleep(max(0.0, window[0] - time.time()))
    pids = (server.pid, kube.pid, *(load.process.pid for load in loads))
    cpu_before = [cpu_seconds(p) for p in pids]
    produced = await produced_task
    cpu_after = [cpu_seconds(p) for p in pids]
    outcome.server_cpu_s = cpu_after[0] - cpu_before[0]
    outcome.kubesim_cpu_s = cpu_after[1] - cpu_before[1]
    outcome.client_cpu_s = sum(cpu_after[2:]) - sum(cpu_before[2:])
    await asyncio.sleep(config.grace)
    histogram, totals = merge_reports(ask_all(loads, ["report"] * len(loads)))
    outcome.produced = produced.in_window
    outcome.produced_per_s = produced.in_window / config.duration
    outcome.patch_p50_ms = 1000 * sorted(produced.round_trips)[len(produced.round_trips) // 2]
    outcome.expected = produced.in_window * outcome.connected
    outcome.delivered_per_s = totals["in_window"] / config.duration
    outcome.measured = totals["measured"]
    outcome.missing = max(0, outcome.expected - totals["measured"])
    outcome.resyncs, outcome.errors, outcome.first_error = totals["resyncs"], totals["errors"], totals["first_error"]
    outcome.p50_ms = percentile_ms(histogram, 0.50)
    outcome.p99_ms = percentile_ms(histogram, 0.99)
    outcome.max_ms = percentile_ms(histogram, 1.0)
    outcome.rss_after_mib = fd.rss_mib(server.pid)
    outcome.peak_rss_mib = fd.rss_mib(server.pid, "VmHWM")


@dataclass
class Setup:
    env: dict[str, str]
    server_env: dict[str, str]
    kube: Kube
    kubeconfig: Path
    token: str = ""
    cluster_id: str = ""


async def run_server(setup: Setup, kind: str, n: int, config: Config) -> Outcome:
    deadline = time.monotonic() + config.timeout
    outcome = Outcome(server=kind, subscribers=n)
    baseline = (setup.kube.url, setup.kube.token) if kind == "baseline" else None
    profile_out = config.server_profile.with_suffix(f".{kind}.{n}.prof") if config.server_profile else None
    server, port = start_server(setup.env if baseline else setup.server_env, baseline, profile_out)
    loads: list[LoadProcess] = []
    try:
        with httpx.Client(timeout=60) as http:
            fd.wait_server(http, server, f"http://127.0.0.1:{port}", deadline)
            if kind == "fleetgraph":
                connect(http, setup, f"http://127.0.0.1:{port}")
        path, protocol = ("/ws", "") if baseline else ("/graphql", "graphql-transport-ws")
        target = LoadTarget("127.0.0.1", port, path, setup.token, setup.cluster_id, protocol)
        loads = [LoadProcess.start(setup.env, target) for _ in range(config.loadgens)]
        await subscribe_all(setup.kube, loads, server, n, outcome, deadline)
        await load_phase(setup.kube, loads, server, config, outcome)
        if profile_out is not None:
            server.send_signal(signal.SIGUSR1)
            await asyncio.sleep(3.0)
        return outcome
    finally:
        for load in loads:
            load.stop()
        fd.stop(server)


def connect(http: httpx.Client, setup: Setup, base: str) -> None:
    """Log in; register the cluster the first time (the database outlives each server)."""
    setup.token, tenant = fd.login(http, base)
    if not setup.cluster_id:
        variables = {"t": tenant, "in": {"name": "bench", "kubeconfig": setup.kubeconfig.read_text()}}
        setup.cluster_id = fd.graphql(http, base, fd.REGISTER, variables, setup.token)["registerCluster"]["id"]


# --------------------------------------------------------------------------- report


def line(o: Outcome) -> str:
    return (
        f"{o.server:>10} N={o.subscribers:>6} connected {o.connected} in {o.connect_seconds:.1f} s, {o.live} live | "
        f"produced {o.produced_per_s:.0f}/s (PATCH p50 {o.patch_p50_ms:.1f} ms) | "
        f"delivered {o.delivered_per_s:,.0f} events/s of {o.produced_per_s * o.connected:,.0f} | "
        f"latency p50 {o.p50_ms} ms p99 {o.p99_ms} ms max {o.max_ms} ms | "
        f"missing {o.missing:,} of {o.expected:,}, {o.resyncs} RESYNC, {o.errors} errors | "
        f"RSS {o.rss_one_mib:.0f} -> {o.rss_subscribed_mib:.0f} MiB ({o.rss_per_subscriber_kib:.1f} KiB/subscriber), "
        f"after {o.rss_after_mib:.0f}, peak {o.peak_rss_mib:.0f} | CPU in the window: server "
        f"{o.server_cpu_s:.1f} s, clients {o.client_cpu_s:.1f} s, kubesim {o.kubesim_cpu_s:.1f} s"
    )


def verdict(outcomes: list[Outcome]) -> dict[str, Any]:
    by = {(o.server, o.subscribers): o for o in outcomes}
    ratios = {
        n: round(o.delivered_per_s / b.delivered_per_s, 3)
        for (s, n), o in by.items()
        if s == "fleetgraph" and (b := by.get(("baseline", n))) is not None and b.delivered_per_s
    }
    big = by.get(("fleetgraph", TARGET_SUBSCRIBERS))
    p99_ok = (
        None
        if big is None
        else bool(big.p99_ms is not None and big.p99_ms < TARGET_P99_MS and big.missing == 0 and not big.errors)
    )
    return {
        "ratios": ratios,
        "p99_below_250ms_at_10k": p99_ok,
        "ratio_at_least_0.5": all(r >= TARGET_RATIO for r in ratios.values()) if ratios else None,
    }


# --------------------------------------------------------------------------- main


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted)) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


async def run_all(args: argparse.Namespace, workdir: Path) -> list[Outcome]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    url = f"sqlite+aiosqlite:///{workdir / 'fleet.db'}"
    await fd.prepare_database(url, max_clusters=1)
    settings = dict(item.split("=", 1) for item in args.setting)
    server_env = fd.server_env(env, url, settings)  # one secret key for every server of the run
    fleet = fd.start_kubesim(args.profile, 1, 42, workdir, env)
    config = Config(
        args.rate,
        args.duration,
        args.warmup,
        args.grace,
        args.configmaps,
        args.loadgens,
        args.timeout,
        args.server_profile.resolve() if args.server_profile else None,
    )
    outcomes: list[Outcome] = []
    try:
        fd.wait_kubesim(fleet, time.monotonic() + 120)
        kubeconfig = fleet.kubeconfigs["cluster-0"]
        setup = Setup(
            env, server_env, Kube(fleet.servers["cluster-0"], fd.token_of(kubeconfig), fleet.process.pid), kubeconfig
        )
        await seed_kube(setup.kube, args.configmaps)
        for n in args.subscribers:
            for kind in args.servers:
                outcome = await run_server(setup, kind, n, config)
                print(line(outcome), flush=True)
                outcomes.append(outcome)
        return outcomes
    finally:
        fd.stop(fleet.process)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="1000,5000,10000", help="comma-separated N")
    parser.add_argument("--servers", default="fleetgraph,baseline", help="fleetgraph, baseline or both")
    parser.add_argument("--rate", type=float, default=200.0, help="ConfigMap patches per second")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the measurement")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for late events")
    parser.add_argument("--configmaps", type=int, default=100, help="ConfigMaps patched round-robin")
    parser.add_argument("--loadgens", type=int, default=1, help="load-generator processes")
    parser.add_argument("--profile", default="small", choices=("small", "large", "empty"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds at most per server and N")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE", help="a Fleetgraph setting")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument(
        "--server-profile", type=Path, help="run the servers under cProfile; writes FILE.<server>.<N>.prof (slower)"
    )
    for hidden in ("--serve", "--baseline", "--loadgen"):
        parser.add_argument(hidden, action="store_true", help=argparse.SUPPRESS)
    for hidden in (
        "--port",
        "--path",
        "--token",
        "--cluster",
        "--protocol",
        "--kube-url",
        "--kube-token",
        "--profile-out",
    ):
        parser.add_argument(hidden, type=int if hidden == "--port" else str, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.subscribers = [int(n) for n in str(args.subscribers).split(",") if n]
    args.servers = [s for s in str(args.servers).split(",") if s]
    if not args.subscribers or min(args.subscribers) < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--subscribers, --rate and --duration must be positive")
    if not set(args.servers) <= {"fleetgraph", "baseline"}:
        parser.error("--servers takes fleetgraph and/or baseline")
    return args


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.loadgen or args.serve:
        raise_open_files(1_000_000)
        return run_loadgen(args) if args.loadgen else serve(args)
    limit = raise_open_files(max(args.subscribers) * 2 + 1024)
    signal.signal(signal.SIGALRM, _on_signal)  # a hard stop if a wait hangs past every deadline
    signal.signal(signal.SIGTERM, _on_signal)
    signal.alarm(int(args.timeout * len(args.subscribers) * len(args.servers) + 120))
    workdir = Path(tempfile.mkdtemp(prefix="fleetgraph-subscriptions-"))
    try:
        outcomes = asyncio.run(run_all(args, workdir))
    except (RuntimeError, TimeoutError, httpx.HTTPError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
        shutil.rmtree(workdir, ignore_errors=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "open_files_limit": limit,
        "settings": vars(args) | {"json": str(args.json) if args.json else None},
        "outcomes": [asdict(o) | {"rss_per_subscriber_kib": round(o.rss_per_subscriber_kib, 2)} for o in outcomes],
        "targets": verdict(outcomes),
    }
    text = json.dumps(document, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    targets = document["targets"]
    return 0 if all(v is not False for k, v in targets.items() if k != "ratios") else 1


if __name__ == "__main__":
    sys.exit(main())
