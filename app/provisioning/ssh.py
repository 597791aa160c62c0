"""SSH preflight of a node: connect, log in, read what the node is, and check it fits its role.

A user's mistake (wrong password, refused port, unknown host, silence, bad key) is reported as an
unsuccessful result with a one-line message, never raised. Nothing from `~/.ssh` is read: no config,
no default keys, no agent, no known_hosts file (see `host_keys` for the host key policy).

With an outbound policy (`app.outbound`), a node's address is resolved once, checked, and the
checked IP is the one connected to. Until an SSH server has answered, every failure (an address the
policy refuses, a closed port, silence, an unknown name, something that is not SSH) reads the same,
so the result says nothing about what listens at an address; the detail goes to the server log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import asyncssh

from app.outbound import OutboundPolicy
from app.provisioning.checks import blocking_failures, node_checks
from app.provisioning.facts import INSPECT_SCRIPT, NodeFacts, parse_inspection
from app.provisioning.host_keys import PROCESS_HOST_KEYS, HostKeyMemory
from app.provisioning.models import Check, PreflightResult, SshCredentials, SshNode

__all__ = ["Check", "PreflightResult", "SshCredentials", "SshNode", "preflight", "preflight_all"]

DEFAULT_REQUIRED_PORTS: tuple[int, ...] = (6443, 2379, 2380, 10250)
log = logging.getLogger("fleetgraph.ssh")


class _PreflightClient(asyncssh.SSHClient):
    def __init__(self, host_keys: HostKeyMemory, host: str, port: int) -> None:
        self._host_keys = host_keys
        self._host = host
        self._port = port
        self.rejected_key = False

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        if self._host_keys.accept(self._host, self._port, key):
            return True
        self.rejected_key = True
        return False


async def preflight(
    node: SshNode,
    credentials: SshCredentials,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a limit per step (connect, inspect), not one deadline
    required_ports: tuple[int, ...] = DEFAULT_REQUIRED_PORTS,
    host_keys: HostKeyMemory | None = None,
    policy: OutboundPolicy | None = None,
) -> PreflightResult:
    where = f"{node.ip_address}:{node.ssh_port}"
    login = f"{credentials.username}@{where}"
    auth = await _auth_options(credentials, login)
    if isinstance(auth, str):
        return _failed(node, auth, Check("authenticated", False, auth))

    client = _PreflightClient(host_keys or PROCESS_HOST_KEYS, node.ip_address, node.ssh_port)
    try:
        async with asyncio.timeout(timeout):
            conn = await connect(node, credentials.username, auth, client, timeout, policy)
    except Exception as exc:  # every connection failure becomes a result; bugs are re-raised below
        message, checks = _connection_failure(exc, node, login, timeout, client.rejected_key)
        return _failed(node, message, *checks)

    async with conn:
        facts = await _inspect(conn, timeout)
    method = "a password" if credentials.auth_method == "password" else "a private key"
    checks = [
        Check("reachable", True, f"SSH server at {where} answered"),
        Check("authenticated", True, f"logged in as {credentials.username} with {method}"),
    ]
    if isinstance(facts, str):
        checks.append(Check("inspected", False, facts))
        return _failed(node, f"Connected to {where} but could not inspect the node: {facts}", *checks)

    after_login, in_use = node_checks(node.role, node.os_type, facts, required_ports)
    checks.extend(after_login)
    return _result(node, facts, checks, in_use)


async def connect(
    node: SshNode,
    username: str,
    auth: dict[str, Any],
    client: _PreflightClient,
    timeout: float,  # noqa: ASYNC109
    policy: OutboundPolicy | None = None,
) -> asyncssh.SSHClientConnection:
    """An SSH connection that reads nothing from `~/.ssh` and checks the host key with `client`.

    With a `policy`, the node's address is resolved and checked first, and only the allowed IPs are
    tried, in order (`OutboundRefused` when there are none)."""
    hosts = [node.ip_address] if policy is None else await policy.addresses(node.ip_address, node.ssh_port)
    failure: OSError | None = None
    for host in hosts:
        try:
            return await asyncssh.connect(
                host,
                node.ssh_port,
                client_factory=lambda: client,
                username=username,
                known_hosts=([], [], []),
                config=None,
                agent_path=None,
                x509_trusted_certs=None,
                connect_timeout=timeout,
                login_timeout=timeout,
                **auth,
            )
        except OSError as exc:  # this address did not answer; the next one may
            failure = exc
    assert failure is not None
    raise failure


async def preflight_all(
    nodes: Iterable[SshNode],
    credentials: SshCredentials,
    concurrency: int = 8,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - passed on to each node's preflight
    required_ports: tuple[int, ...] = DEFAULT_REQUIRED_PORTS,
    host_keys: HostKeyMemory | None = None,
    policy: OutboundPolicy | None = None,
    seconds: float | None = None,
) -> list[PreflightResult]:
    """Preflight every node, at most `concurrency` at a time; results are in the nodes' order.

    `seconds` is one deadline for all of them: a node not done by then is reported unreachable."""
    limit = asyncio.Semaphore(max(1, concurrency))
    deadline = None if seconds is None else asyncio.get_running_loop().time() + seconds

    async def one(node: SshNode) -> PreflightResult:
        try:
            async with asyncio.timeout_at(deadline), limit:
                return await preflight(
                    node, credentials, timeout=timeout, required_ports=required_ports, host_keys=host_keys,
                    policy=policy,
                )
        except TimeoutError:
            log.info("SSH preflight of %s:%s cut short by the request's deadline", node.ip_address, node.ssh_port)
            message = unreachable(node)
            return _failed(node, message, Check("reachable", False, message))

    return list(await asyncio.gather(*(one(node) for node in nodes)))


def unreachable(node: SshNode) -> str:
    """The one message for every failure before an SSH server has answered."""
    return f"Could not reach an SSH server at {node.ip_address}:{node.ssh_port}"


async def _auth_options(credentials: SshCredentials, login: str) -> dict[str, Any] | str:
    """asyncssh options for the chosen method, or why they cannot be built."""
    if credentials.auth_method == "password":
        if not credentials.password:
            return f"No password given for {login}"
        return {
            "password": credentials.password,
            "client_keys": None,
            "preferred_auth": ["password", "keyboard-interactive"],
        }
    if credentials.auth_method == "private_key":
        if not credentials.private_key:
            return f"No private key given for {login}"
        try:
            # Decrypting an OpenSSH key runs bcrypt's KDF: seconds of CPU that must not stall the loop.
            key = await asyncio.to_thread(
                asyncssh.import_private_key, credentials.private_key, credentials.passphrase or None
            )
        except (asyncssh.KeyImportError, ValueError) as exc:
            return f"Invalid private key for {login}: {exc}"
        return {"client_keys": [key], "password": None, "preferred_auth": ["publickey"]}
    return f"Unknown auth_method {credentials.auth_method!r} for {login}; expected password or private_key"


def _connection_failure(
    exc: BaseException, node: SshNode, login: str, timeout: float, rejected_key: bool
) -> tuple[str, Sequence[Check]]:
    where = f"{node.ip_address}:{node.ssh_port}"
    if isinstance(exc, asyncssh.PermissionDenied):
        message = f"Authentication failed for {login}"
        answered = Check("reachable", True, f"SSH server at {where} answered")
        return message, (answered, Check("authenticated", False, message))
    if rejected_key:
        message = f"Host key of {where} differs from the one seen before; refusing to connect"
    elif isinstance(exc, OSError | asyncssh.Error):  # timeouts and the policy's refusals included
        detail = exc.reason if isinstance(exc, asyncssh.Error) else str(exc) or f"no answer within {timeout:g}s"
        log.info("SSH connection to %s failed: %s: %s", where, type(exc).__name__, detail)
        message = unreachable(node)
    elif isinstance(exc, ValueError):
        message = f"Invalid connection settings for {login}: {exc}"
    else:
        raise exc
    return message, (Check("reachable", False, message),)


async def _inspect(conn: asyncssh.SSHClientConnection, timeout: float) -> NodeFacts | str:  # noqa: ASYNC109
    """The node's facts, or why they could not be read."""
    try:
        async with asyncio.timeout(timeout):
            completed = await conn.run("LC_ALL=C sh -s", input=INSPECT_SCRIPT, check=False)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except (asyncssh.Error, OSError) as exc:
        return str(exc) or type(exc).__name__
    stdout = completed.stdout or ""
    facts = parse_inspection(stdout if isinstance(stdout, str) else stdout.decode(errors="replace"))
    missing = facts.missing()
    if missing and completed.exit_status:
        return f"the inspection exited with status {completed.exit_status}"
    return facts


def _result(node: SshNode, facts: NodeFacts, checks: list[Check], in_use: list[int]) -> PreflightResult:
    failures = blocking_failures(checks)
    if failures:
        message = f"Connected to {node.ip_address}:{node.ssh_port} but could not inspect the node: {failures[0].detail}"
    else:
        message = f"Connected successfully. Hostname: {facts.hostname}"
    return PreflightResult(
        node=node.name,
        ip_address=node.ip_address,
        success=not failures,
        message=message,
        hostname=facts.hostname,
        os_id=facts.os_release.get("ID"),
        os_version=facts.os_release.get("VERSION_ID"),
        cpus=facts.cpus,
        memory_mib=facts.memory_mib,
        ports_in_use=in_use,
        checks=checks,
    )


def _failed(node: SshNode, message: str, *checks: Check) -> PreflightResult:
    return PreflightResult(
        node=node.name, ip_address=node.ip_address, success=False, message=message, checks=list(checks)
    )
