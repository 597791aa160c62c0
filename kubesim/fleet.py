"""Start N simulated clusters in-process, each on its own port with its own token and kubeconfig."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import itertools
import logging
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from . import errors
from .clock import Clock
from .control import control_app
from .kubeconfig import Certificates, make_certificates, write_kubeconfig
from .server import Cluster, build_app
from .store import ClusterState

if TYPE_CHECKING:
    from .nodepools import NodePool

log = logging.getLogger("kubesim")


class _Server(uvicorn.Server):
    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _optional(module: str) -> Any:
    """The other half of the simulator (profiles, controllers) may be absent: run with empty clusters then."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        log.warning("%s is not available; clusters start without it", module)
        return None


class Fleet:
    def __init__(self, clusters: int, profile: str | None, seed: int, *, speed: float = 1.0, tls: bool = False,
                 control: bool = False, kubeconfig_dir: Path | None = None, port: int = 0,
                 controllers: bool = True, history_size: int = 10_000) -> None:
        self.count, self.profile, self.seed, self.speed = clusters, profile, seed, speed
        self.tls, self.control_enabled, self.base_port = tls, control, port
        self.with_controllers, self.history_size = controllers, history_size
        self._tmp = tempfile.TemporaryDirectory(prefix="kubesim-") if kubeconfig_dir is None else None
        assert self._tmp is not None or kubeconfig_dir is not None
        self.kubeconfig_dir: Path = kubeconfig_dir if kubeconfig_dir is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.clusters: list[Cluster] = []
        self.kubeconfigs: dict[str, Path] = {}
        self.ports: dict[str, int] = {}
        self.control_port: int | None = None
        self._servers: dict[str, tuple[_Server, asyncio.Task[None]]] = {}
        self._managers: dict[str, Any] = {}
        self._certs: Certificates | None = None
        self._controllers: Any = None
        self._created = 0  # clusters made so far: a new one's index, which seeds its profile
        self._reserved: set[str] = set()
        self.node_pools: dict[str, dict[str, NodePool]] = {}

    def server_url(self, name: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.ports[name]}"

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.clusters if c.name == name)

    async def start(self) -> Fleet:
        if self.tls:
            self._certs = make_certificates(self.kubeconfig_dir / "tls")
        profiles = _optional("kubesim.profiles") if self.profile else None
        self._controllers = _optional("kubesim.controllers") if self.with_controllers else None
        for index in range(self.count):
            cluster = self._new_cluster(f"cluster-{index}")
            if profiles is not None:
                profiles.load_profile(cluster.state, self.profile, self.seed, index)
            await self._launch(cluster, self.base_port + index if self.base_port else 0)
        self._created = self.count
        if self.control_enabled:
            await self._serve_control()
        return self

    def _new_cluster(self, name: str) -> Cluster:
        state = ClusterState(name, Clock(self.speed), history_size=self.history_size)
        token = hashlib.sha256(f"kubesim/{self.seed}/{name}".encode()).hexdigest()[:40]
        _bootstrap(state)
        return Cluster(name, state, token)

    async def _launch(self, cluster: Cluster, port: int) -> None:
        """Run the cluster's controllers, serve its API and write its kubeconfig."""
        name = cluster.name
        if self._controllers is not None:
            self._managers[name] = self._controllers.start(cluster.state)
        self.clusters.append(cluster)
        self.ports[name] = port
        await self._serve(cluster)
        ca = self._certs.ca_pem if self._certs else None
        self.kubeconfigs[name] = write_kubeconfig(self.kubeconfig_dir, name, self.server_url(name), cluster.token, ca)

    async def add_cluster(self, name: str, prepare: Callable[[ClusterState, int], None],
                          version: str | None = None) -> Cluster:
        """Start one more cluster while the fleet runs; ``prepare(state, index)`` fills it (in a worker thread,
        as nothing else sees the new state yet) before it is served."""
        if name in self._reserved or any(c.name == name for c in self.clusters):
            raise errors.already_exists("", "clusters", name)
        self._reserved.add(name)
        try:
            index, self._created = self._created, self._created + 1
            cluster = await asyncio.to_thread(self._prepared, name, prepare, index)
            cluster.version = version
            await self._launch(cluster, self._next_port())
        finally:
            self._reserved.discard(name)
        return cluster

    def _prepared(self, name: str, prepare: Callable[[ClusterState, int], None], index: int) -> Cluster:
        cluster = self._new_cluster(name)
        prepare(cluster.state, index)
        return cluster

    def _next_port(self) -> int:
        if not self.base_port:
            return 0
        used = set(self.ports.values())
        return next(port for port in itertools.count(self.base_port) if port not in used)

    async def remove_cluster(self, name: str) -> None:
        """Stop serving the cluster and forget it: its controllers, port, kubeconfig and node pools."""
        cluster = self.cluster(name)
        cluster.watches.drop_all()
        manager = self._managers.pop(name, None)
        if manager is not None:
            await manager.stop()
        if name in self._servers:
            await self._stop_server(name)
        self.clusters.remove(cluster)
        self.ports.pop(name, None)
        self.node_pools.pop(name, None)
        path = self.kubeconfigs.pop(name, None)
        if path is not None:
            path.unlink(missing_ok=True)

    async def _serve(self, cluster: Cluster) -> None:
        sock = _bind(self.ports[cluster.name])
        port = sock.getsockname()[1]
        self.ports[cluster.name] = port
        cluster.address = f"127.0.0.1:{port}"
        config = uvicorn.Config(build_app(cluster), log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1, ws="websockets-sansio", ws_ping_interval=None,
                                ssl_certfile=str(self._certs.cert_path) if self._certs else None,
                                ssl_keyfile=str(self._certs.key_path) if self._certs else None)
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await _started(server, task)
        self._servers[cluster.name] = (server, task)

    async def _serve_control(self) -> None:
        sock = _bind(0)
        self.control_port = sock.getsockname()[1]
        server = _Server(uvicorn.Config(control_app(self), log_level="warning", access_log=False, lifespan="off"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await _started(server, task)
        self._servers["__control__"] = (server, task)

    async def set_reachable(self, name: str, reachable: bool) -> None:
        """An unreachable cluster refuses connections; open connections and watches are cut."""
        running = name in self._servers
        if reachable and not running:
            await self._serve(self.cluster(name))
        elif not reachable and running:
            self.cluster(name).watches.drop_all()
            await self._stop_server(name)

    async def _stop_server(self, name: str) -> None:
        server, task = self._servers.pop(name)
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def stop(self) -> None:
        for cluster in self.clusters:
            cluster.watches.drop_all()
        for manager in self._managers.values():
            await manager.stop()
        for name in list(self._servers):
            await self._stop_server(name)
        if self._tmp is not None:
            self._tmp.cleanup()


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    for _ in range(2000):  # noqa: ASYNC110 - uvicorn exposes only a flag
        if server.started:
            return
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    raise RuntimeError("server did not start")


def _bootstrap(state: ClusterState) -> None:
    """What every cluster has before anything else: the system namespaces and the default service account."""
    namespaces = state.resources.get("", "v1", "namespaces")
    accounts = state.resources.get("", "v1", "serviceaccounts")
    assert namespaces is not None and accounts is not None
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        state.create(namespaces, {"metadata": {"name": ns}})
        state.create(accounts, {"metadata": {"name": "default", "namespace": ns}})


@contextlib.asynccontextmanager
async def start_fleet(clusters: int = 1, profile: str | None = "small", seed: int = 0, **options: Any) -> \
        AsyncIterator[Fleet]:
    fleet = Fleet(clusters, profile, seed, **options)
    try:
        await fleet.start()
        yield fleet
    finally:
        await fleet.stop()


class FleetThread:
    """A fleet running on its own event loop in a background thread, for synchronous callers."""

    def __init__(self, clusters: int = 1, profile: str | None = "small", seed: int = 0, **options: Any) -> None:
        self.fleet = Fleet(clusters, profile, seed, **options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="kubesim", daemon=True)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> Fleet:
        self._thread.start()
        self.call(self.fleet.start())
        return self.fleet

    def __exit__(self, *exc: object) -> None:
        try:
            self.call(self.fleet.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


@contextlib.contextmanager
def fleet_in_thread(clusters: int = 1, profile: str | None = "small", seed: int = 0, **options: Any) -> \
        Iterator[Fleet]:
    with FleetThread(clusters, profile, seed, **options) as fleet:
        yield fleet
