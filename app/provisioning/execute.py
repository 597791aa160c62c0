"""Runs a plan phase's commands on a node over SSH, one after another, stopping at the first failure.

Connection settings and the host key policy are the preflight's (see `ssh`); each command's exit
status and the last lines of its output go to the operation's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncssh

from app.provisioning.host_keys import PROCESS_HOST_KEYS, HostKeyMemory
from app.provisioning.models import SshCredentials, SshNode
from app.provisioning.ssh import _auth_options, _PreflightClient, connect

Log = Callable[[str], Awaitable[None]]
OUTPUT_LINES = 5


class CommandFailed(Exception):
    """A command exited non-zero, or the node could not be reached; the message says which."""


async def run_commands(
    node: SshNode,
    credentials: SshCredentials,
    commands: Sequence[str],
    log: Log,
    *,
    seconds: float = 900.0,
    host_keys: HostKeyMemory | None = None,
) -> None:
    login = f"{credentials.username}@{node.ip_address}:{node.ssh_port}"
    auth = await _auth_options(credentials, login)
    if isinstance(auth, str):
        raise CommandFailed(auth)
    client = _PreflightClient(host_keys or PROCESS_HOST_KEYS, node.ip_address, node.ssh_port)
    try:
        conn = await connect(node, credentials.username, auth, client, 30.0)
    except (OSError, asyncssh.Error) as exc:
        raise CommandFailed(f"cannot connect to {login}: {exc}") from exc
    async with conn:
        for index, command in enumerate(commands, start=1):
            try:
                async with asyncio.timeout(seconds):
                    result = await conn.run(command, check=False)
            except TimeoutError as exc:
                raise CommandFailed(f"{node.name}: step {index} gave no result within {seconds:g}s") from exc
            output = str(result.stdout or "") + str(result.stderr or "")
            for line in output.strip().splitlines()[-OUTPUT_LINES:]:
                await log(f"{node.name}: {line}")
            if result.exit_status != 0:
                raise CommandFailed(f"{node.name}: step {index} of {len(commands)} exited with {result.exit_status}")
            await log(f"{node.name}: step {index} of {len(commands)} done")
