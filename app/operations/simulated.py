"""The `simulated` provider: real kubesim clusters, created and changed through kubesim's control API.

Each phase takes `simulated_phase_seconds` (a cancellable pause), and
`simulated_faults` names phases that fail on an operation's first attempt (for every cluster,
or for clusters whose name starts with a prefix), for trying failure and retry end to end.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from app.db.models import Cluster
from app.db.types import utcnow
from app.errors import AppError
from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import parse_kubeconfig
from app.operations import nodes, records
from app.operations.provider import PhaseContext, PhaseFailed

PHASES: dict[str, list[str]] = {
    "provision": [
        "validate",
        "create-infrastructure",
        "bootstrap-control-plane",
        "join-nodes",
        "install-addons",
        "register",
        "verify",
    ],
    "scale": ["validate", "resize-node-pools", "wait-for-nodes", "record"],
    "upgrade": ["validate", "upgrade-control-plane", "upgrade-nodes", "verify", "record"],
    "deprovision": ["cordon-nodes", "delete-infrastructure", "unregister"],
}
POOL_LABEL = "kubesim.io/node-pool"
WAIT_SECONDS = 60.0


class SimulatedProvider:
    name = "simulated"

    def phases(self, operation_type: str, params: dict[str, Any]) -> list[str]:
        return list(PHASES[operation_type])

    async def run_phase(self, phase: str, ctx: PhaseContext) -> None:
        await ctx.log(f"{phase}: started")
        await ctx.pause(ctx.settings.simulated_phase_seconds)
        if ctx.attempt == 1 and await _faulty(ctx, phase):
            await ctx.log(f"{phase}: the simulator reports a fault")
            raise PhaseFailed("simulated fault (the simulator was told to fail this phase once)")
        handler = getattr(self, "_" + ctx.type.replace("-", "_") + "_" + phase.replace("-", "_"), None)
        if handler is not None:
            await handler(ctx)
        await ctx.log(f"{phase}: done")

    # -- provision --------------------------------------------------------------------------------

    async def _provision_validate(self, ctx: PhaseContext) -> None:
        await _control_url(ctx)
        pools = await records.pools(ctx)
        await ctx.log(f"{len(pools)} node pools, {sum(p.node_count for p in pools)} nodes requested")

    async def _provision_create_infrastructure(self, ctx: PhaseContext) -> None:
        cluster = await _cluster(ctx)
        name = _infrastructure_name(cluster)
        body = {
            "name": name,
            "version": ctx.params["version"],
            "nodePools": [
                {
                    "name": p.name,
                    "count": p.node_count,
                    "instanceType": p.instance_type or "standard",
                    "labels": p.labels or {},
                }
                for p in await records.pools(ctx)
            ],
            "profile": None,
        }
        status, reply = await _control(ctx, "POST", "/clusters", body)
        if status == 409:  # made by an earlier, interrupted attempt: nothing uses it yet, start over
            await ctx.log(f"simulated cluster {name} exists from an earlier attempt; recreating it")
            await _control(ctx, "DELETE", f"/clusters/{name}")
            status, reply = await _control(ctx, "POST", "/clusters", body)
        if status >= 300:
            raise PhaseFailed(f"the simulator refused to create the cluster: {_reason(reply)}")
        ctx.state["kubeconfigSealed"] = ctx.sealer.seal(reply["kubeconfig"])
        spec = dict(cluster.spec or {})
        spec["infrastructure"] = {"simulator": name}
        await records.set_status(ctx, "provisioning", spec=spec, server_url=reply.get("server", ""))
        await ctx.log(f"simulated cluster {name} created at {reply.get('server')}")

    async def _provision_bootstrap_control_plane(self, ctx: PhaseContext) -> None:
        async with _new_client(ctx) as client:
            version = await _until(ctx, client.version, "the API server to answer")
        await ctx.log(f"API server answers: {version.get('gitVersion')}")

    async def _provision_join_nodes(self, ctx: PhaseContext) -> None:
        wanted = sum(p.node_count for p in await records.pools(ctx))
        async with _new_client(ctx) as client:
            ready = await _wait_nodes(ctx, client, lambda nodes: _ready(nodes) >= wanted, f"{wanted} ready nodes")
        await ctx.log(f"{_ready(ready)} nodes joined and ready")

    async def _provision_install_addons(self, ctx: PhaseContext) -> None:
        spec = (await _cluster(ctx)).spec or {}
        addons = [a for a in spec.get("addons") or [] if a.get("enabled", True)]
        networking = spec.get("networking") or {}
        async with _new_client(ctx) as client:
            for addon in [{"name": networking.get("cni") or "calico", "version": "cni"}, *addons]:
                await _apply_addon(client, addon)
                await ctx.log(f"addon {addon['name']} installed")

    async def _provision_register(self, ctx: PhaseContext) -> None:
        kubeconfig = ctx.sealer.open(ctx.state["kubeconfigSealed"])
        await records.connect(ctx, kubeconfig, "v" + ctx.params["version"])
        await ctx.log("cluster registered; its workloads are visible in the fleet")

    async def _provision_verify(self, ctx: PhaseContext) -> None:
        client = await nodes.client_for(ctx)
        found = (await client.list("Node", identity=None)).items
        await ctx.log(f"{_ready(found)} of {len(found)} nodes ready")

    # -- scale ----------------------------------------------------------------------------------

    async def _scale_resize_node_pools(self, ctx: PhaseContext) -> None:
        name = await _infrastructure(ctx)
        for pool, count in sorted(ctx.params["counts"].items()):
            status, reply = await _control(ctx, "POST", f"/clusters/{name}/node-pools/{pool}/scale", {"count": count})
            if status >= 300:
                raise PhaseFailed(f"the simulator could not resize {pool}: {_reason(reply)}")
            await ctx.log(f"node pool {pool} resized to {count}")

    async def _scale_wait_for_nodes(self, ctx: PhaseContext) -> None:
        counts: dict[str, int] = ctx.params["counts"]
        client = await nodes.client_for(ctx)

        def settled(found: list[dict[str, Any]]) -> bool:
            by_pool = {pool: 0 for pool in counts}
            for node in found:
                pool = node["metadata"].get("labels", {}).get(POOL_LABEL)
                if pool in by_pool and _is_ready(node):
                    by_pool[pool] += 1
            return by_pool == counts

        await _wait_nodes(ctx, client, settled, "the node pools to settle")

    async def _scale_record(self, ctx: PhaseContext) -> None:
        await records.set_pool_counts(ctx, ctx.params["counts"])

    # -- upgrade --------------------------------------------------------------------------------

    async def _upgrade_upgrade_control_plane(self, ctx: PhaseContext) -> None:
        name = await _infrastructure(ctx)
        status, reply = await _control(ctx, "POST", f"/clusters/{name}/version", {"version": ctx.params["version"]})
        if status >= 300:
            raise PhaseFailed(f"the simulator could not upgrade the control plane: {_reason(reply)}")
        await ctx.log(f"control plane at v{ctx.params['version']}")

    async def _upgrade_upgrade_nodes(self, ctx: PhaseContext) -> None:
        client = await nodes.client_for(ctx)
        want = "v" + ctx.params["version"]
        await _wait_nodes(
            ctx,
            client,
            lambda found: all(n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion") == want for n in found),
            f"every kubelet at {want}",
        )

    async def _upgrade_verify(self, ctx: PhaseContext) -> None:
        client = await nodes.client_for(ctx)
        version = await client.version()
        if version.get("gitVersion") != "v" + ctx.params["version"]:
            raise PhaseFailed(f"the API server reports {version.get('gitVersion')}")

    async def _upgrade_record(self, ctx: PhaseContext) -> None:
        cluster = await _cluster(ctx)
        spec = dict(cluster.spec or {})
        spec["version"] = ctx.params["version"]
        await records.set_status(ctx, cluster.status, version="v" + ctx.params["version"], spec=spec)

    # -- deprovision ----------------------------------------------------------------------------

    async def _deprovision_cordon_nodes(self, ctx: PhaseContext) -> None:
        try:
            client = await nodes.client_for(ctx)
            found = (await client.list("Node", identity=None)).items
        except (PhaseFailed, AppError) as exc:
            await ctx.log(f"nodes not reachable ({exc}); going on with the teardown")
            return
        for node in found:
            await nodes.cordon(ctx, node["metadata"]["name"])

    async def _deprovision_delete_infrastructure(self, ctx: PhaseContext) -> None:
        name = await _infrastructure(ctx)
        status, reply = await _control(ctx, "DELETE", f"/clusters/{name}")
        if status >= 300 and status != 404:
            raise PhaseFailed(f"the simulator could not delete the cluster: {_reason(reply)}")
        await ctx.log(f"simulated cluster {name} deleted")

    async def _deprovision_unregister(self, ctx: PhaseContext) -> None:
        await ctx.gateway.unregister(ctx.cluster_id or "")
        await records.set_status(ctx, "deleted", deleted_at=utcnow())


# -- helpers --------------------------------------------------------------------------------------


async def _faulty(ctx: PhaseContext, phase: str) -> bool:
    """`simulated_faults` entries: `phase` (every cluster) or `phase@prefix` (clusters named prefix…)."""
    entries = [f.strip() for f in (ctx.settings.simulated_faults or "").split(",") if f.strip()]
    if not entries:
        return False
    name = (await _cluster(ctx)).name
    for entry in entries:
        target, _, prefix = entry.partition("@")
        if target == phase and name.startswith(prefix):
            return True
    return False


async def _control_url(ctx: PhaseContext) -> str:
    url = ctx.settings.simulator_url
    if not url:
        raise PhaseFailed("no simulator is configured (FLEETGRAPH_SIMULATOR_URL)")
    return url.rstrip("/")


async def _control(ctx: PhaseContext, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    url = await _control_url(ctx) + path
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=body) as response,
        ):
            data = await response.json(content_type=None)
            return response.status, data
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise PhaseFailed(f"the simulator at {url} did not answer ({type(exc).__name__})") from exc


def _reason(reply: Any) -> str:
    if isinstance(reply, dict):
        return str(reply.get("message") or reply.get("reason") or reply)
    return str(reply)


async def _cluster(ctx: PhaseContext) -> Cluster:
    async with ctx.db.session() as session:
        cluster = await session.get(Cluster, ctx.cluster_id)
    if cluster is None:
        raise PhaseFailed("the cluster record no longer exists")
    return cluster


def _infrastructure_name(cluster: Cluster) -> str:
    return f"{cluster.name[:50]}-{cluster.id[-6:].lower()}"


async def _infrastructure(ctx: PhaseContext) -> str:
    cluster = await _cluster(ctx)
    name = ((cluster.spec or {}).get("infrastructure") or {}).get("simulator")
    if not name:
        raise PhaseFailed("this cluster was not made by the simulated provider")
    return str(name)


class _new_client:  # noqa: N801 - used as a context manager
    """A short-lived client from the new cluster's kubeconfig, before it is registered."""

    def __init__(self, ctx: PhaseContext) -> None:
        kubeconfig = ctx.sealer.open(ctx.state["kubeconfigSealed"])
        self.client = ClusterClient("new", parse_kubeconfig(kubeconfig).connection(None), timeout=10, retries=0)

    async def __aenter__(self) -> ClusterClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


async def _until(ctx: PhaseContext, call: Any, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            return await call()
        except AppError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise PhaseFailed(f"gave up waiting for {what}: {exc.message}") from exc
        await asyncio.sleep(0.5)


async def _wait_nodes(ctx: PhaseContext, client: ClusterClient, done: Any, what: str) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            found = (await client.list("Node", identity=None)).items
            if done(found):
                return found
        except AppError as exc:
            await ctx.log(f"waiting for {what}: {exc.message}")
        if asyncio.get_running_loop().time() > deadline:
            raise PhaseFailed(f"gave up waiting for {what}")
        await asyncio.sleep(0.5)


def _is_ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _ready(found: list[dict[str, Any]]) -> int:
    return sum(1 for node in found if _is_ready(node))


async def _apply_addon(client: ClusterClient, addon: dict[str, Any]) -> None:
    """Each addon is a Deployment in kube-system (created once; an existing one is left alone)."""
    name = f"addon-{addon['name']}"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "fleetgraph-addons"}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": addon["name"], "image": f"{addon['name']}:{addon.get('version')}"}]},
            },
        },
    }
    try:
        await client.create("Deployment", "kube-system", body, identity=None)
    except AppError as exc:
        if exc.code != "CONFLICT":
            raise PhaseFailed(f"addon {addon['name']} could not be installed: {exc.message}") from exc
