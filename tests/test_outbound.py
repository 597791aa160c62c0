"""The outbound policy: which addresses may be called, checked on resolved IPs and at connect time.

Names are resolved by stub resolvers given to the policy, never by the network; the connection
tests use real listeners on loopback addresses (127.0.0.2 is this machine too, but outside the
networks they allow) and count what reaches them.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import yaml

from app.errors import BadUserInput, RateLimited, UpstreamUnavailable
from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import ClusterConnection, parse_kubeconfig
from app.outbound import Budget, OutboundPolicy, OutboundRefused, binds_locally, parse_networks, request_budget
from app.provisioning.models import SshCredentials, SshNode
from app.provisioning.ssh import preflight, preflight_all
from app.settings import SettingsError, load_settings


def policy(*allowed: str, resolve: dict[str, list[str]] | None = None, **extra: object) -> OutboundPolicy:
    answers = resolve or {}

    async def stub(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"no such host {host}")
        return answers[host]

    return OutboundPolicy(allowed=parse_networks(allowed), resolve=stub, **extra)  # type: ignore[arg-type]


def refused(p: OutboundPolicy, address: str, port: int = 443) -> bool:
    return p.refusal(ipaddress.ip_address(address), port) is not None


# -- addresses ----------------------------------------------------------------------------------------

NEVER = [
    "169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "168.63.129.16",
    "0.0.0.0", "0.1.2.3", "::", "224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255", "240.0.0.1",
    "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1",
]


@pytest.mark.parametrize("address", NEVER)
def test_link_local_metadata_unspecified_multicast_broadcast_are_never_allowed(address: str) -> None:
    everything = policy("0.0.0.0/0", "::/0")
    assert refused(everything, address), "not even when every network is allowed"


PRIVATE = [
    ("10.1.2.3", "10.0.0.0/8"), ("172.16.0.1", "172.16.0.0/12"), ("172.31.255.254", "172.16.0.0/12"),
    ("192.168.1.1", "192.168.0.0/16"), ("fc00::1", "fc00::/7"), ("fd12:3456::1", "fd00::/8"),
    ("127.0.0.1", "127.0.0.0/8"), ("127.8.9.10", "127.0.0.0/8"), ("::1", "::1/128"),
    ("100.64.0.1", "100.64.0.0/10"), ("::ffff:10.0.0.1", "10.0.0.0/8"), ("::ffff:127.0.0.1", "127.0.0.0/8"),
]


@pytest.mark.parametrize(("address", "network"), PRIVATE)
def test_private_and_loopback_only_inside_the_allowed_networks(address: str, network: str) -> None:
    assert refused(policy(), address), "refused by default"
    assert refused(policy("203.0.113.0/24"), address), "another allowed network does not help"
    assert not refused(policy(network), address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_global_unicast_is_allowed(address: str) -> None:
    assert not refused(policy(), address)


def test_the_services_own_address_and_port() -> None:
    own = policy("127.0.0.0/8", own_host="127.0.0.1", own_port=8000)
    assert refused(own, "127.0.0.1", 8000) and refused(own, "::ffff:127.0.0.1", 8000)
    assert not refused(own, "127.0.0.1", 8001) and not refused(own, "127.0.0.2", 8000)


def test_bound_to_every_address_any_local_address_with_the_port_is_the_service() -> None:
    local = {ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("127.0.0.1")}
    own = policy("10.0.0.0/8", "127.0.0.0/8", own_host="0.0.0.0", own_port=8000, is_local=local.__contains__)
    assert refused(own, "10.0.0.5", 8000) and refused(own, "127.0.0.1", 8000)
    assert not refused(own, "10.0.0.6", 8000) and not refused(own, "10.0.0.5", 8001)


def test_local_addresses_are_the_ones_that_can_be_bound() -> None:
    assert binds_locally(ipaddress.ip_address("127.0.0.1"))
    assert not binds_locally(ipaddress.ip_address("192.0.2.1"))  # TEST-NET-1 is nobody's


# -- names ----------------------------------------------------------------------------------------------


async def test_a_name_that_resolves_to_a_forbidden_address_is_refused() -> None:
    p = policy(resolve={"evil.example": ["169.254.169.254"], "inside.example": ["10.0.0.7"]})
    with pytest.raises(OutboundRefused, match="169.254.169.254 is a link-local address"):
        await p.addresses("evil.example", 443)
    with pytest.raises(OutboundRefused, match="private address"):
        await p.addresses("inside.example", 443)


async def test_only_the_allowed_answers_of_a_name_are_returned() -> None:
    p = policy(resolve={"mixed.example": ["10.0.0.7", "169.254.169.254", "93.184.216.34", "2606:2800::1"]})
    assert await p.addresses("mixed.example", 443) == ["93.184.216.34", "2606:2800::1"]
    assert await policy("10.0.0.0/8", resolve={"mixed.example": ["10.0.0.7"]}).addresses("mixed.example", 1) == [
        "10.0.0.7"
    ]


async def test_metadata_names_are_refused_without_being_resolved() -> None:
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.216.34"]

    p = OutboundPolicy(resolve=resolve)
    for name in ("metadata.google.internal", "METADATA.google.internal.", "metadata", "instance-data"):
        with pytest.raises(OutboundRefused, match="metadata service name"):
            await p.addresses(name, 80)
    assert asked == []


async def test_ip_literals_are_checked_without_resolving() -> None:
    p = policy()
    assert await p.addresses("93.184.216.34", 443) == ["93.184.216.34"]
    assert await p.addresses("[2606:2800::1]", 443) == ["2606:2800::1"]
    with pytest.raises(OutboundRefused):
        await p.addresses("[::1]", 443)


async def test_a_name_that_does_not_resolve_fails_as_a_connection_does() -> None:
    with pytest.raises(OSError):
        await policy().addresses("nowhere.example", 443)


# -- budget --------------------------------------------------------------------------------------------


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_caps_addresses_and_keeps_one_deadline() -> None:
    clock = Clock()
    budget = Budget(targets=5, seconds=10.0, clock=clock)
    assert budget.remaining() == 10.0
    budget.take(3)
    clock.now += 4
    assert budget.remaining() == 6.0
    budget.take(2)
    assert budget.remaining() == 6.0, "the deadline starts once, at the first call"
    with pytest.raises(RateLimited, match="at most 0 more"):
        budget.take(1)
    clock.now += 60
    assert budget.remaining() == 0.0


@dataclass
class Connection:
    """What `request_budget` reads of a Starlette request or websocket."""

    kind: str
    state: SimpleNamespace = field(default_factory=SimpleNamespace)

    @property
    def scope(self) -> dict[str, str]:
        return {"type": self.kind}


async def test_every_field_of_a_request_shares_its_budget_and_each_websocket_operation_has_its_own() -> None:
    p = OutboundPolicy(max_targets=3)
    http = Connection("http")
    request_budget(http, p).take(2)
    with pytest.raises(RateLimited):
        request_budget(http, p).take(2)

    socket = Connection("websocket")

    async def operation(count: int) -> int:
        request_budget(socket, p).take(count)
        request_budget(socket, p).take(1)  # a later field of the same operation
        return request_budget(socket, p).targets

    assert await asyncio.gather(operation(2), operation(1)) == [0, 1]
    with pytest.raises(RateLimited):
        await asyncio.create_task(operation(3))


# -- settings ------------------------------------------------------------------------------------------


def test_no_private_network_is_allowed_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS", raising=False)
    settings = load_settings(_env_file=None)
    built = OutboundPolicy.from_settings(settings)
    assert built.allowed == () and (built.own_host, built.own_port) == (settings.host, settings.port)
    monkeypatch.setenv("FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8")
    assert OutboundPolicy.from_settings(load_settings()).allowed == parse_networks(["10.0.0.0/8", "fd00::/8"])


def test_a_bad_network_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS", "10.0.0.0/8,ten-dot-oh")
    with pytest.raises(SettingsError, match="^FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS: "):
        load_settings()


# -- kubeconfig plugins -----------------------------------------------------------------------------------


@pytest.mark.parametrize("plugin", [{"exec": {"command": "aws"}}, {"auth-provider": {"name": "oidc"}}])
def test_plugins_are_refused_naming_the_user_entry(plugin: dict[str, object]) -> None:
    text = yaml.safe_dump({
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod.example.com"}}],
        "users": [{"name": "eks-admin", "user": plugin}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "eks-admin"}}],
    })
    with pytest.raises(BadUserInput) as caught:
        parse_kubeconfig(text).connection("prod")
    detail = caught.value.details[0]
    assert detail["field"] == "kubeconfig" and detail["user"] == "eks-admin"
    assert "user 'eks-admin'" in caught.value.message and "plugin" in caught.value.message


# -- connections ---------------------------------------------------------------------------------------


@dataclass
class Listener:
    """A TCP listener on a loopback address that counts connections, answering with ``reply``."""

    host: str
    reply: Callable[[bytes], bytes] | None = None
    connects: int = 0
    port: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connects += 1
        self.writers.append(writer)
        if self.reply is None:
            return  # accept, then say nothing
        request = await reader.readuntil(b"\r\n\r\n")
        writer.write(self.reply(request))
        await writer.drain()
        writer.close()


@asynccontextmanager
async def listening(
    host: str, reply: Callable[[bytes], bytes] | None = None, port: int = 0
) -> AsyncIterator[Listener]:
    listener = Listener(host, reply)
    server = await asyncio.start_server(listener.handle, host, port)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        for writer in listener.writers:
            writer.close()
        server.close()
        await server.wait_closed()


def version_reply(request: bytes) -> bytes:
    body = b'{"major":"1","minor":"30","gitVersion":"v1.30.0"}'
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def redirect_to(location: str) -> Callable[[bytes], bytes]:
    return lambda _: f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()


async def version(server: str, p: OutboundPolicy) -> dict[str, object]:
    async with ClusterClient("t", ClusterConnection(server=server), timeout=5, retries=2, outbound=p) as client:
        return await client.version()


async def test_the_client_connects_to_the_checked_address_of_a_name() -> None:
    async with listening("127.0.0.1", version_reply) as api:
        p = policy("127.0.0.1/32", resolve={"cluster.example": ["127.0.0.2", "127.0.0.1"]})
        assert (await version(f"http://cluster.example:{api.port}", p))["gitVersion"] == "v1.30.0"
        assert api.connects == 1


async def test_a_name_rebound_to_a_forbidden_address_is_refused_at_connect_time() -> None:
    async with (
        listening("127.0.0.1", version_reply) as outside,
        listening("127.0.0.2", version_reply, port=outside.port) as inside,
    ):
        answers = {"cluster.example": ["127.0.0.1"]}
        p = policy("127.0.0.1/32", resolve=answers)
        server = f"http://cluster.example:{outside.port}"
        assert (await version(server, p))["gitVersion"] == "v1.30.0"
        answers["cluster.example"] = ["127.0.0.2"]  # the same name now points elsewhere
        with pytest.raises(UpstreamUnavailable, match="^cluster t is unreachable$"):
            await version(server, p)
        assert (outside.connects, inside.connects) == (1, 0)


async def test_ip_literals_are_refused_before_connecting_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="fleetgraph.k8s")
    async with listening("127.0.0.2", version_reply) as inside:
        with pytest.raises(UpstreamUnavailable, match="^cluster t is unreachable$"):
            await version(f"http://127.0.0.2:{inside.port}", policy("127.0.0.1/32"))
        assert inside.connects == 0
    refusals = [r for r in caplog.records if "refused by the outbound policy" in r.getMessage()]
    assert len(refusals) == 1, "a refusal is final: the read is not retried"


async def test_a_redirect_to_a_forbidden_address_is_refused() -> None:
    async with (
        listening("127.0.0.2", version_reply) as inside,
        listening("127.0.0.1", redirect_to(f"http://127.0.0.2:{inside.port}/version")) as outside,
    ):
        with pytest.raises(UpstreamUnavailable):
            await version(f"http://127.0.0.1:{outside.port}", policy("127.0.0.1/32"))
        assert outside.connects >= 1 and inside.connects == 0


async def test_proxy_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    async with listening("127.0.0.1", version_reply) as api, listening("127.0.0.1", version_reply) as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert (await version(f"http://127.0.0.1:{api.port}", policy("127.0.0.1/32")))["gitVersion"]
        assert (api.connects, proxy.connects) == (1, 0)


# -- SSH ------------------------------------------------------------------------------------------------

CREDENTIALS = SshCredentials("root", "password", password="x")


def node(host: str, port: int, name: str = "n1") -> SshNode:
    return SshNode(name, "worker", host, port, os_type="ubuntu22")


async def test_ssh_connects_only_to_allowed_addresses() -> None:
    async with listening("127.0.0.2") as silent:
        via_name = policy("127.0.0.1/32", resolve={"node.example": ["127.0.0.2"]})
        for target in (node("127.0.0.2", silent.port), node("node.example", silent.port)):
            result = await preflight(target, CREDENTIALS, timeout=5, policy=via_name)
            assert not result.success
            assert result.message == f"Could not reach an SSH server at {target.ip_address}:{silent.port}"
        assert silent.connects == 0


async def test_ssh_failures_before_a_server_answers_read_the_same() -> None:
    async with listening("127.0.0.1") as silent:
        port = silent.port
        strict = await preflight(node("127.0.0.1", port), CREDENTIALS, timeout=5, policy=policy())
        quiet = await preflight(node("127.0.0.1", port), CREDENTIALS, timeout=0.3, policy=policy("127.0.0.0/8"))
    closed = await preflight(node("127.0.0.1", port), CREDENTIALS, timeout=5, policy=policy("127.0.0.0/8"))
    assert strict.message == quiet.message == closed.message == f"Could not reach an SSH server at 127.0.0.1:{port}"
    assert [c.name for c in strict.checks] == [c.name for c in quiet.checks] == [c.name for c in closed.checks]


async def test_one_deadline_for_all_the_nodes() -> None:
    async with listening("127.0.0.1") as silent:
        nodes = [node("127.0.0.1", silent.port, f"n{i}") for i in range(6)]
        results = await preflight_all(
            nodes, CREDENTIALS, concurrency=2, timeout=30, policy=policy("127.0.0.0/8"), seconds=0.5
        )
        assert [r.node for r in results] == [n.name for n in nodes]
        assert {r.message for r in results} == {f"Could not reach an SSH server at 127.0.0.1:{silent.port}"}
        assert silent.connects <= 2, "the nodes still queued at the deadline were never tried"
