"""The one outbound policy: which addresses tenants may make this service call, and how many, for how long.

Tenants choose addresses: the server of a kubeconfig they register or discover, the machines they
test or provision over SSH. Left unchecked, they could make the service call its cloud's metadata
endpoint, its own database or itself, and learn from the answers or from how they fail. So every
address a tenant chooses passes this policy, on the resolved IP and at connect time, so that a
name which resolves elsewhere later (DNS rebinding) gains nothing:

- never: link-local and cloud metadata addresses, unspecified, multicast, broadcast and reserved
  addresses, and the service's own listening address and port;
- private ranges and loopback: only inside ``FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS``;
- any other (global unicast) address.

A refusal is an ``OutboundRefused``, an ``OSError``, so connection code treats it as one more way
of failing to connect; tenants see it exactly as they see a closed port or a silent listener, and
the reason goes to the server log. Each request also has a ``Budget``: at most ``max_targets``
addresses and one deadline for all the calls it makes.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.errors import RateLimited

if TYPE_CHECKING:
    from app.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], Awaitable[list[str]]]

_NEVER: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified address"),  # 0.0.0.0 reaches the local host on Linux
    ("::/128", "an unspecified address"),
    ("169.254.0.0/16", "a link-local address"),  # where cloud metadata services answer
    ("fe80::/10", "a link-local address"),
    ("fd00:ec2::254/128", "a metadata service address"),  # AWS, over IPv6
    ("100.100.100.200/32", "a metadata service address"),  # Alibaba Cloud
    ("168.63.129.16/32", "a metadata service address"),  # Azure's host agent
    ("224.0.0.0/4", "a multicast address"),
    ("ff00::/8", "a multicast address"),
    ("240.0.0.0/4", "a reserved or broadcast address"),  # 255.255.255.255 included
)
NEVER: tuple[tuple[Network, str], ...] = tuple((ipaddress.ip_network(net), why) for net, why in _NEVER)
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(PermissionError):
    """An address the outbound policy does not let the service call; the message is for the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EACCES, f"refused by the outbound policy: {reason}")


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def binds_locally(address: Address) -> bool:
    """Whether ``address`` belongs to this machine: only a local address can be bound."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


def literal_address(host: str) -> Address | None:
    """``host`` as an IP address when it is written as one (IPv6 with or without brackets)."""
    try:
        return ipaddress.ip_address(host.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped (``::ffff:a.b.c.d``), NAT64 or 6to4."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def parse_networks(values: Iterable[str | Network]) -> tuple[Network, ...]:
    """CIDR networks (``10.0.0.0/8``, ``::1/128``, a bare address for one host); ``ValueError`` names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a CIDR network such as 10.0.0.0/8") from None
    return tuple(networks)


@dataclass(frozen=True)
class OutboundPolicy:
    allowed: tuple[Network, ...] = ()  # private or loopback networks tenants' addresses may be in
    own_host: str | None = None  # where this service listens, never a target
    own_port: int | None = None
    max_targets: int = 20  # addresses one request may contact
    deadline_seconds: float = 15.0  # for all the outbound calls of one request
    resolve: Resolve = field(default=system_resolve, compare=False)
    is_local: Callable[[Address], bool] = field(default=binds_locally, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> OutboundPolicy:
        values: dict[str, Any] = {
            "allowed": parse_networks(settings.cluster_allowed_networks),
            "own_host": settings.host,
            "own_port": settings.port,
            "max_targets": settings.outbound_max_targets,
            "deadline_seconds": settings.outbound_deadline_seconds,
        }
        return cls(**(values | overrides))

    def refusal(self, address: Address, port: int) -> str | None:
        """Why ``address``:``port`` may not be called, or ``None`` when it may."""
        inner = embedded_ipv4(address)
        effective = inner or address
        for candidate in (address, inner):
            for network, why in NEVER:
                if candidate is not None and candidate.version == network.version and candidate in network:
                    return f"{address} is {why}"
        if self._is_own(effective, port):
            return f"{address}:{port} is this service's own address"
        if any(effective.version == net.version and effective in net for net in self.allowed):
            return None
        if effective.is_loopback:
            return f"{address} is a loopback address outside the allowed networks"
        if not effective.is_global:
            return f"{address} is a private address outside the allowed networks"
        return None

    def check(self, address: Address, port: int) -> None:
        reason = self.refusal(address, port)
        if reason is not None:
            raise OutboundRefused(reason)

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` this service may call, resolved once and checked; the caller
        connects to these, never to the name again. Forbidden ones are left out; none left is a refusal."""
        name = host.strip().rstrip(".").lower()
        if name in METADATA_NAMES:
            raise OutboundRefused(f"{host} is a metadata service name")
        literal = literal_address(name)
        if literal is not None:
            self.check(literal, port)
            return [str(literal)]
        found = await self.resolve(host, port)
        allowed, reasons = [], []
        for text in found:
            address = literal_address(text)
            reason = f"{text} is not an IP address" if address is None else self.refusal(address, port)
            if reason is None:
                allowed.append(text)
            else:
                reasons.append(reason)
        if not allowed:
            raise OutboundRefused(f"{host} resolves to no allowed address ({'; '.join(reasons) or 'no answer'})")
        return allowed

    def _is_own(self, address: Address, port: int) -> bool:
        if self.own_port is None or port != self.own_port:
            return False
        own = literal_address(self.own_host or "")
        if own is None or own.is_unspecified:  # bound to every address (or to a name): any local one is us
            return self.is_local(address)
        return address == (embedded_ipv4(own) or own)


@dataclass
class Budget:
    """What one request may still spend on outbound calls: addresses, and time from its first call."""

    targets: int
    seconds: float
    clock: Callable[[], float] = time.monotonic
    deadline: float | None = None

    def take(self, count: int) -> None:
        """Spend ``count`` addresses, starting the clock; ``RateLimited`` when the request has used them up."""
        if count > self.targets:
            raise RateLimited(
                f"this request may contact at most {self.targets} more address(es); it asked for {count}"
            )
        self.targets -= count
        if self.deadline is None:
            self.deadline = self.clock() + self.seconds

    def remaining(self) -> float:
        """Seconds left before the request's deadline (the whole allowance if nothing was spent yet)."""
        if self.deadline is None:
            return self.seconds
        return max(0.0, self.deadline - self.clock())


def request_budget(connection: Any, policy: OutboundPolicy) -> Budget:
    """The budget of one request, kept on its Starlette ``state`` so that every field shares it.

    A websocket carries one operation after another, each run in a task of its own: there, each
    operation (task) has its own budget, or a connection's first deadline would end all later ones.
    """
    state = connection.state
    task = asyncio.current_task()
    if connection.scope.get("type") != "websocket" or task is None:
        budget = getattr(state, "outbound_budget", None)
        if not isinstance(budget, Budget):
            budget = state.outbound_budget = Budget(policy.max_targets, policy.deadline_seconds)
        return budget
    per_task: weakref.WeakKeyDictionary[asyncio.Task[Any], Budget] | None = getattr(state, "outbound_budgets", None)
    if per_task is None:
        per_task = state.outbound_budgets = weakref.WeakKeyDictionary()
    return per_task.setdefault(task, Budget(policy.max_targets, policy.deadline_seconds))
