"""Runs a plan phase's commands on a node over SSH, one after another, stopping at the first failure.

Connection settings and the host key policy are the preflight's (see `ssh`); each command's exit
status and the last lines of its output go to the operation's log.

Secrets (join token, certificate key, CA certificate hash) reach a command through its standard
input: the command sent over SSH starts by reading the variables it names from stdin and exporting
them, so the values are never part of the command line (the remote `ps`, sshd's and asyncssh's
logs), nor of the SSH session's environment, which sshd drops unless its AcceptEnv lists them.
Output lines are logged with every secret value masked, and anything shaped like one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import asyncssh

from app.provisioning.host_keys import PROCESS_HOST_KEYS, HostKeyMemory
from app.provisioning.models import SshCredentials, SshNode
from app.provisioning.ssh import _auth_options, _PreflightClient, connect

Log = Callable[[str], Awaitable[None]]
OUTPUT_LINES = 5
MASK = "[redacted]"
# a bootstrap token; 64 hex digits (a certificate key, a CA certificate hash)
SECRET_LOOKALIKE = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b|\b[0-9a-f]{64}\b")
_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class CommandFailed(Exception):
    """A command exited non-zero, or the node could not be reached; the message says which."""


async def run_commands(
    node: SshNode,
    credentials: SshCredentials,
    commands: Sequence[str],
    log: Log,
    *,
    secrets: Mapping[str, str] | None = None,
    read_last: bool = False,
    seconds: float = 900.0,
    host_keys: HostKeyMemory | None = None,
) -> str:
    """Runs `commands` in order and answers the last one's standard output.

    `secrets` maps shell variable names to values; each command gets those it names. With
    `read_last`, the last command's output is for the caller alone: it is not logged.
    """
    given = dict(secrets or {})
    login = f"{credentials.username}@{node.ip_address}:{node.ssh_port}"
    auth = await _auth_options(credentials, login)
    if isinstance(auth, str):
        raise CommandFailed(auth)
    client = _PreflightClient(host_keys or PROCESS_HOST_KEYS, node.ip_address, node.ssh_port)
    try:
        conn = await connect(node, credentials.username, auth, client, 30.0)
    except (OSError, asyncssh.Error) as exc:
        raise CommandFailed(f"cannot connect to {login}: {exc}") from exc
    output = ""
    async with conn:
        for index, command in enumerate(commands, start=1):
            quiet = read_last and index == len(commands)
            result = await _run(conn, node, index, command, given, seconds)
            output = str(result.stdout or "")
            if not quiet:
                for line in (output + str(result.stderr or "")).strip().splitlines()[-OUTPUT_LINES:]:
                    await log(f"{node.name}: {mask(line, given.values())}")
            if result.exit_status != 0:
                raise CommandFailed(f"{node.name}: step {index} of {len(commands)} exited with {result.exit_status}")
            await log(f"{node.name}: step {index} of {len(commands)} done")
    return output


async def _run(
    conn: asyncssh.SSHClientConnection,
    node: SshNode,
    index: int,
    command: str,
    secrets: dict[str, str],
    seconds: float,
) -> asyncssh.SSHCompletedProcess:
    text, stdin = with_secrets(command, secrets)
    try:
        async with asyncio.timeout(seconds):
            return await conn.run(text, input=stdin, check=False)
    except TimeoutError as exc:
        raise CommandFailed(f"{node.name}: step {index} gave no result within {seconds:g}s") from exc


def with_secrets(command: str, secrets: Mapping[str, str]) -> tuple[str, str]:
    """The command to send, which reads the secrets it names from stdin, and that stdin.

    A variable is named by `$NAME` or `${NAME}`. Reading fails (exit 125, nothing run) if stdin ends
    early. Values are single lines: a newline in one is a bug, never sent.
    """
    names = [name for name in secrets if re.search(rf"\$(\{{{name}\}}|{name}\b)", command)]
    if not names:
        return command, ""
    for name in names:
        if not _NAME.match(name) or "\n" in secrets[name] or not secrets[name]:
            raise ValueError(f"secret {name} can't be passed on a line of its own")
    reads = " && ".join(f"IFS= read -r {name}" for name in names)
    prelude = f"{reads} || exit 125\nexport {' '.join(names)}\n"
    return prelude + command, "".join(secrets[name] + "\n" for name in names)


def mask(line: str, secrets: Iterable[str]) -> str:
    """`line` with every secret value in it replaced by a mask (the longest first), and whatever looks
    like one of kubeadm's: a command prints secrets the runner has not learnt yet (`kubeadm init`
    ends with the join command, the CA certificate hash included)."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        line = line.replace(value, MASK)
    return SECRET_LOOKALIKE.sub(MASK, line)
