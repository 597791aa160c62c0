"""What every operation of the `ssh` provider needs: the cluster's machines and SSH credentials, its join
secrets, and commands run on a machine at an address the outbound policy has just checked.

The join secrets (bootstrap token, certificate key, CA certificate hash) live in the operation's
state, sealed like the SSH credentials, so a runner that takes over after a crash (or a retry)
joins the nodes with the same ones; the last phase drops them. They reach the machines only
through `run_commands`, which keeps them off command lines and out of the log.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence

from app.db.models import Cluster
from app.operations import records
from app.operations.provider import PhaseContext, PhaseFailed
from app.operations.spec_model import ClusterSpec
from app.operations.spec_provisioner import WORKER_POOL
from app.outbound import OutboundPolicy
from app.provisioning.execute import CommandFailed, run_commands
from app.provisioning.models import SshCredentials, SshNode
from app.provisioning.plan import Hardening, ProvisionSpec
from app.provisioning.ssh import preflight_all, unreachable

log = logging.getLogger("fleetgraph.ssh")

SECRETS_KEY = "joinSecrets"


def provision_spec(spec: ClusterSpec) -> ProvisionSpec:
    return ProvisionSpec(
        name=spec.name,
        kubernetes_version=spec.version,
        nodes=[SshNode(n.name, n.role, n.ip_address, n.ssh_port, os_type=n.os_type) for n in spec.nodes],  # type: ignore[arg-type]
        cni=spec.networking.cni,
        ingress=spec.ingress or "nginx",
        runtime=spec.runtime,
        ha=spec.ha,
        pod_cidr=spec.networking.pod_cidr,
        service_cidr=spec.networking.service_cidr,
        hardening=Hardening(
            enable_cis_k8s_benchmark=bool(spec.hardening.get("enableCisK8sBenchmark")),
            enable_cis_linux_benchmark=bool(spec.hardening.get("enableCisLinuxBenchmark")),
        ),
    )


@dataclasses.dataclass(frozen=True)
class Machines:
    """A provisioned cluster's machines: the spec declares them, its workers pool says how many are in."""

    spec: ProvisionSpec
    workers_in: int

    @property
    def first(self) -> SshNode:
        return self.spec.control_planes[0]

    @property
    def joined(self) -> list[SshNode]:
        """In the order they joined: the control planes, then the workers in the cluster."""
        return [*self.spec.control_planes, *self.spec.workers[: self.workers_in]]

    def named(self, names: Sequence[str]) -> list[SshNode]:
        by_name = {node.name: node for node in self.spec.nodes}
        return [by_name[name] for name in names if name in by_name]


async def cluster_of(ctx: PhaseContext) -> Cluster:
    async with ctx.db.session() as session:
        cluster = await session.get(Cluster, ctx.cluster_id)
    if cluster is None:
        raise PhaseFailed("the cluster record no longer exists")
    return cluster


async def machines_of(ctx: PhaseContext) -> Machines:
    cluster = await cluster_of(ctx)
    if not (cluster.spec or {}).get("nodes"):
        raise PhaseFailed("this cluster's spec lists no machines")
    spec = provision_spec(ClusterSpec.from_public(cluster.spec))
    pools = {pool.name: pool.node_count for pool in await records.pools(ctx)}
    return Machines(spec, pools.get(WORKER_POOL, len(spec.workers)))


async def credentials_of(ctx: PhaseContext) -> SshCredentials:
    cluster = await cluster_of(ctx)
    if not cluster.ssh_sealed:
        raise PhaseFailed("the cluster has no stored SSH credentials")
    secrets = json.loads(ctx.sealer.open(cluster.ssh_sealed))
    ssh = (cluster.spec or {}).get("sshConfig") or {}
    return SshCredentials(
        username=str(ssh.get("username")),
        auth_method=ssh.get("authMethod", "private_key"),
        password=secrets.get("password"),
        private_key=secrets.get("privateKey"),
        passphrase=secrets.get("passphrase"),
    )


def join_secrets(ctx: PhaseContext) -> dict[str, str]:
    """The join secrets kept so far, by the shell variable the plan's commands name them with."""
    sealed = ctx.state.get(SECRETS_KEY)
    return dict(json.loads(ctx.sealer.open(sealed))) if sealed else {}


def keep_join_secrets(ctx: PhaseContext, values: dict[str, str]) -> dict[str, str]:
    """Adds `values` to the sealed join secrets; they are saved with the phase that succeeds."""
    kept = join_secrets(ctx) | values
    ctx.state[SECRETS_KEY] = ctx.sealer.seal(json.dumps(kept))
    return kept


def drop_join_secrets(ctx: PhaseContext) -> None:
    """Once every node has joined, the operation keeps no secret (saved with the phase that succeeds)."""
    ctx.state.pop(SECRETS_KEY, None)


async def checked(node: SshNode, policy: OutboundPolicy) -> SshNode:
    """The node with the address to connect to, once the outbound policy has allowed it."""
    try:
        addresses = await policy.addresses(node.ip_address, node.ssh_port)
    except OSError as exc:  # a refusal, or a name that does not resolve
        log.info("node %s (%s): %s", node.name, node.ip_address, exc)
        raise PhaseFailed(f"{node.name}: {unreachable(node)}") from None
    return dataclasses.replace(node, ip_address=addresses[0])


async def run_on(
    ctx: PhaseContext,
    nodes: Sequence[SshNode],
    commands: Sequence[str],
    *,
    credentials: SshCredentials,
    secrets: dict[str, str] | None = None,
    read_last: bool = False,
) -> dict[str, str]:
    """Runs `commands` on each node in turn; the last command's output of each, by node name."""
    policy = OutboundPolicy.from_settings(ctx.settings)
    outputs: dict[str, str] = {}
    for node in nodes:
        try:
            outputs[node.name] = await run_commands(
                await checked(node, policy), credentials, commands, ctx.log, secrets=secrets, read_last=read_last
            )
        except CommandFailed as exc:
            raise PhaseFailed(str(exc)) from exc
    return outputs


async def preflight(ctx: PhaseContext, nodes: Sequence[SshNode], credentials: SshCredentials) -> None:
    """Every node reachable, logged in to and fit for its role, or PhaseFailed naming the first problems."""
    policy = OutboundPolicy.from_settings(ctx.settings)
    results = await preflight_all(nodes, credentials, policy=policy)
    problems: list[str] = []
    for result in results:
        await ctx.log(f"{result.node} ({result.ip_address}): {result.message}")
        for check in result.checks:
            if not check.ok:
                await ctx.log(f"{result.node}: check {check.name} failed: {check.detail}")
                problems.append(f"{result.node}: {check.detail}")
        if not result.success and not result.checks:
            problems.append(f"{result.node}: {result.message}")
    if problems:
        raise PhaseFailed("; ".join(problems[:5]))
