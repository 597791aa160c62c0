"""How a cluster's HTTP connections are opened: each one to an address the outbound policy allows.

kubernetes-asyncio opens its connections through an aiohttp session it makes itself; ``install``
swaps that session for one whose connector checks every connection at connect time: names through
a resolver that returns only allowed addresses (so the checked IP is the one connected to), IP
literals before connecting. Redirects are checked the same way, since they open connections too.
The session ignores the ``*_PROXY`` environment variables: a proxy would reach tenants' addresses
on the service's behalf, out of the policy's sight.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from kubernetes_asyncio import client as k8s

from app.outbound import OutboundPolicy, OutboundRefused, literal_address

READ_BUFFER = 2**21  # as kubernetes-asyncio: a watch event may carry a large object


class PolicyResolver(AbstractResolver):
    """Resolves a name once and returns only the addresses the policy allows."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        addresses = await self.policy.addresses(host, port)
        return [
            ResolveResult(hostname=host, host=address, port=port,
                          family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                          proto=0, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class PolicyConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that checks IP literals itself (aiohttp resolves only names)."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        super().__init__(resolver=PolicyResolver(policy), **kwargs)
        self.policy = policy

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109 - aiohttp's signature
        address = literal_address(req.url.raw_host or "")
        if address is not None:
            try:
                self.policy.check(address, req.port)
            except OutboundRefused as exc:
                raise aiohttp.ClientConnectorError(req.connection_key, exc) from None
        return await super().connect(req, traces, timeout)


def refused(exc: BaseException) -> bool:
    """Whether a connection error is the policy's refusal (not worth retrying)."""
    return isinstance(getattr(exc, "os_error", None), OutboundRefused)


def ssl_context(config: k8s.Configuration) -> ssl.SSLContext:
    """The TLS settings of the configuration, as kubernetes-asyncio builds them."""
    context = ssl.create_default_context(cafile=config.ssl_ca_cert)
    if config.cert_file:
        context.load_cert_chain(config.cert_file, keyfile=config.key_file)
    if not config.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.disable_strict_ssl_verification:
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


def install(api: k8s.ApiClient, config: k8s.Configuration, policy: OutboundPolicy | None) -> None:
    """Give ``api`` a session whose connections pass ``policy`` (any address when ``None``)."""
    rest = api.rest_client
    rest.pool_manager.detach()  # kubernetes-asyncio's own session; it never opened a connection
    options: dict[str, Any] = {"limit": config.connection_pool_maxsize, "ssl": ssl_context(config)}
    connector = PolicyConnector(policy, **options) if policy is not None else aiohttp.TCPConnector(**options)
    rest.pool_manager = aiohttp.ClientSession(connector=connector, trust_env=False, read_bufsize=READ_BUFFER)
